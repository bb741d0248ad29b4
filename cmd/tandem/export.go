package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func runExport(ctx context.Context, args []string) error {
	return exportCmd(ctx, args, os.Stdout)
}

// exportCmd writes one document to a portable file (format: persistence package doc).
// The file is written beside its final name and renamed, so a failure leaves no half file.
func exportCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	db := fs.String("db", "./tandem.db", "database `file`")
	doc := fs.String("doc", "", "document `name`")
	out := fs.String("out", "", "export `file` to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDoc(fs, *doc); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("export: --out is required")
	}
	s, err := openStore(*db, true)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := os.CreateTemp(filepath.Dir(*out), ".tandem-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename this fails harmlessly
	n, err := s.Export(ctx, *doc, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), *out)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(w, "exported %d records of %q to %s\n", n, *doc, *out)
	return nil
}

func runImport(ctx context.Context, args []string) error {
	return importCmd(ctx, args, os.Stdout)
}

// importCmd reads a file written by export into a new document.
func importCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	db := fs.String("db", "./tandem.db", "database `file`")
	doc := fs.String("doc", "", "document `name` (must not exist yet)")
	in := fs.String("in", "", "export `file` to read")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := needDoc(fs, *doc); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("import: --in is required")
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	s, err := openStore(*db, false)
	if err != nil {
		return err
	}
	n, err := s.Import(ctx, *doc, f)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(w, "imported %d records from %s into %q\n", n, *in, *doc)
	return nil
}
