// Command outboxctl is the operator's tool for the order saga: it looks at
// the services' databases and the Kafka topics from outside and says what
// it finds.
//
//	outboxctl audit [flags]           check the saga's invariants; exit 1 on a violation
//	outboxctl order [flags] <id>      one order's saga in time order; exit 1 while it waits for something
//	outboxctl lag [flags]             consumer group lag and replication slots; exit 1 above --max-lag
//	outboxctl dlq list [flags]        the dead letters; exit 1 when there are any
//	outboxctl dlq show [flags] <ref>  one dead letter in full (<ref> is <dlqtopic>/<partition>@<offset>)
//	outboxctl dlq replay [flags] <ref> | --all [filters]
//	                                  copy dead letters back to their topics; exit 1 when one is refused
//	outboxctl help [command]          print the commands, or one command's flags
//
// Every command finds the stack the same way: --orders-db,
// --payments-db, --inventory-db and --brokers, else $ORDERS_DATABASE_URL,
// $PAYMENTS_DATABASE_URL, $INVENTORY_DATABASE_URL and $KAFKA_BROKERS, else
// the make dev stack's (127.0.0.1:5432 as each service's role,
// 127.0.0.1:9092); --json prints for scripts. Only dlq replay writes: the
// copies it produces, and the dead_lettered inbox row it deletes so that
// the group that gave up handles the copy.
//
// Exit status: 0 when the command found nothing wrong, 1 when it found
// something (as each command defines it above), 2 when it could not run
// (bad usage, no such order or record, a database or broker that cannot be
// reached).
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
	{"order", "one order's saga in time order, and what it waits for", runOrder},
	{"lag", "consumer groups' lag per partition, and the WAL replication slots hold back", runLag},
	{"dlq", "list, show and replay dead letters (dlq list|show|replay)", runDLQ},
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
