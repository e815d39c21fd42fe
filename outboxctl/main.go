// Command outboxctl is the operator's tool for the order saga: it looks at
// the services' databases and the Kafka topics from outside and says what
// it finds.
//
//	outboxctl audit [flags]   check the saga's invariants; exit 1 on a violation
//	outboxctl help [command]  print the commands, or one command's flags
//
// Exit status: 0 when the command found nothing wrong, 1 when it found
// something (an audit violation), 2 when it could not run (bad usage, a
// database or broker that cannot be reached).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order help prints them.
var commands = []command{
	{"audit", "check the saga's invariants across the databases and the topics", runAudit},
}

func main() {
	program.Main("outboxctl", func(ctx context.Context, _ context.CancelFunc) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	})
}

// run dispatches args to a subcommand. Its error carries the exit status
// (program.Exit): 2 for bad usage.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return program.Exit(2, "")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return nil
		}
		if c := lookup(rest[0]); c != nil {
			return c.run(ctx, []string{"-h"}, getenv, stdout, stdout)
		}
		name = rest[0]
	default:
		if c := lookup(name); c != nil {
			return c.run(ctx, rest, getenv, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "outboxctl: unknown command %q\n\n", name)
	usage(stderr)
	return program.Exit(2, "")
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: outboxctl <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "help", "print this, or a command's flags: outboxctl help <command>")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "exit status: 0 nothing wrong, 1 something wrong found, 2 could not run")
}
