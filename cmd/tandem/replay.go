package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tandemsync/tandem/crdt"
	"github.com/tandemsync/tandem/persistence"
)

func runReplay(ctx context.Context, args []string) error {
	return replayCmd(ctx, args, os.Stdout)
}

// replayCmd prints a document as it was at a point of its history, its op log, or the
// result of checking the log against the snapshots.
func replayCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	db := fs.String("db", "./tandem.db", "database `file`")
	doc := fs.String("doc", "", "document `name`")
	to := fs.Uint64("to", 0, "replay up to and including record `seq` (default: all)")
	at := fs.String("at", "", "replay the records up to `time` (RFC 3339)")
	format := fs.String("format", "text", "output `format`: text (every root as text or JSON) or json (Doc.ToJSON)")
	opLog := fs.Bool("log", false, "print one line per record: seq, time, user, connection, client ids, what it did")
	verify := fs.Bool("verify", false, "replay the whole log and check it against every snapshot")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDoc(fs, *doc); err != nil {
		return err
	}
	if *to != 0 && *at != "" {
		return errors.New("replay: give --to or --at, not both")
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("replay: unknown --format %q", *format)
	}
	s, err := openStore(*db, true)
	if err != nil {
		return err
	}
	defer s.Close()
	info, err := s.Info(ctx, *doc)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}

	if *verify {
		rep, err := persistence.Verify(ctx, s, *doc)
		if err != nil {
			return fmt.Errorf("replay: verify: %w", err)
		}
		fmt.Fprintf(w, "ok: %s: replayed %d records (seq %d to %d), %d snapshots match\n",
			*doc, rep.Records, rep.BaseSeq+1, rep.LastSeq, rep.Snapshots)
		return nil
	}

	seq := *to // 0: the newest
	if seq > info.LastSeq {
		return fmt.Errorf("replay: %q has records up to %d, not %d", *doc, info.LastSeq, seq)
	}
	empty := false
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return fmt.Errorf("replay: --at: %w", err)
		}
		if seq, err = s.SeqAt(ctx, *doc, t); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		empty = seq == 0 // before the first record
	}

	if *opLog {
		if empty {
			return nil
		}
		return persistence.Describe(ctx, s, *doc, 0, seq, func(op persistence.Op) error {
			_, err := fmt.Fprintln(w, opLine(op))
			return err
		})
	}

	d := crdt.NewDoc(crdt.Options{})
	if !empty {
		if d, _, err = persistence.LoadDocAt(ctx, s, *doc, seq, crdt.Options{}); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d.ToJSON())
	}
	return persistence.WriteRoots(w, d.ToJSON())
}

// opLine formats one record of --log: tab-separated seq, time, user, connection,
// client ids and the changes.
func opLine(op persistence.Op) string {
	user, conn := op.User, op.ConnID.String()
	if user == "" {
		user = "-"
	}
	if op.ConnID == [16]byte{} {
		conn = "-"
	}
	clients := make([]string, len(op.Clients))
	for i, c := range op.Clients {
		clients[i] = strconv.FormatUint(c, 10)
	}
	cl := strings.Join(clients, ",")
	if cl == "" {
		cl = "-"
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s", op.Seq, op.Time.Format(time.RFC3339Nano), user, conn, cl,
		strings.Join(op.Changes, "; "))
}
