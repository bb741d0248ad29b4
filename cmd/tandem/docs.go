package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/tandemsync/tandem/persistence"
)

func runDocs(ctx context.Context, args []string) error {
	return docsCmd(ctx, args, os.Stdout)
}

// docsCmd lists the stored documents: name, records in the log, size, last edit.
func docsCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("docs", flag.ContinueOnError)
	db := fs.String("db", "./tandem.db", "database `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openStore(*db, true)
	if err != nil {
		return err
	}
	defer s.Close()
	docs, err := s.Docs(ctx)
	if err != nil {
		return fmt.Errorf("docs: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tOPS\tLAST SEQ\tBYTES\tLAST EDIT\tSNAPSHOT\tCOMPACTED TO")
	for _, d := range docs {
		edit := "-"
		if !d.LastEdit.IsZero() {
			edit = d.LastEdit.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%d\n", d.Name, d.Ops, d.LastSeq, d.Bytes, edit, d.SnapshotSeq, d.BaseSeq)
	}
	return tw.Flush()
}

// openStore opens the database for a maintenance command, quietly (warnings only). A file
// held by a running server fails fast with persistence.ErrLocked.
func openStore(path string, readOnly bool) (*persistence.Store, error) {
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	return persistence.Open(path, persistence.Options{
		ReadOnly:    readOnly,
		LockTimeout: 500 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// needDoc checks that --doc was given.
func needDoc(fs *flag.FlagSet, doc string) error {
	if doc == "" {
		return fmt.Errorf("%s: --doc is required", fs.Name())
	}
	return nil
}
