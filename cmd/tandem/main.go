// Command tandem runs and inspects a Tandem collaborative-editing server.
//
//	tandem serve    [--addr 127.0.0.1:8080] [--db ./tandem.db]
//	tandem replay   --db F --doc NAME [--to SEQ | --at TIME] [--format text|json] [--log] [--verify]
//	tandem docs     --db F
//	tandem export   --db F --doc NAME --out FILE
//	tandem import   --db F --doc NAME --in FILE
//	tandem compact  --db F --doc NAME --to SEQ
//
// Each sub-command lives in its own file; this file only dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// command is one sub-command: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the sync server", runServe},
		"replay":  {"show a document as it was at a point of its history", runReplay},
		"docs":    {"list stored documents", runDocs},
		"export":  {"write a document's updates to a portable file", runExport},
		"import":  {"read a document from a file written by export", runImport},
		"compact": {"fold old history into a snapshot", runCompact},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tandem:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(cmds)
		if len(args) == 0 {
			return errors.New("missing sub-command")
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(cmds)
		return fmt.Errorf("unknown sub-command %q", args[0])
	}
	return c.run(ctx, args[1:])
}

func usage(cmds map[string]command) {
	fmt.Fprintln(os.Stderr, "usage: tandem <command> [flags]\n\ncommands:")
	for _, name := range []string{"serve", "replay", "docs", "export", "import", "compact"} {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, cmds[name].summary)
	}
}
