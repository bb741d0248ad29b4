package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tandemsync/tandem/persistence"
)

func runCompact(ctx context.Context, args []string) error {
	return compactCmd(ctx, args, os.Stdout)
}

// compactCmd folds the history of a document up to a record into a snapshot and deletes
// those records. It is explicit and irreversible: replay before that record is no longer
// possible.
func compactCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	db := fs.String("db", "./tandem.db", "database `file`")
	doc := fs.String("doc", "", "document `name`")
	to := fs.Uint64("to", 0, "fold records up to and including `seq`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDoc(fs, *doc); err != nil {
		return err
	}
	if *to == 0 {
		return errors.New("compact: --to is required")
	}
	s, err := openStore(*db, false)
	if err != nil {
		return err
	}
	err = s.Compact(ctx, *doc, *to)
	var info persistence.DocInfo
	if err == nil {
		info, err = s.Info(ctx, *doc)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	fmt.Fprintf(w, "compacted %q: history up to %d is a snapshot, %d records kept\n", *doc, info.BaseSeq, info.Ops)
	return nil
}
