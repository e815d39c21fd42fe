package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/timeline"
)

// runOrder is `outboxctl order <id>`: exit 0 when the order's saga is
// over, 1 while it waits for something, 2 when there is no such order or
// it cannot be read.
func runOrder(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("order", "order [flags] <order id>", []string{
		"Prints one order's saga in time order: its row and history, its payment and refund, its stock reservation",
		"and its release or commit, each consumer group's inbox rows for its events, and its records on the outbox",
		"topics with each group's committed offset against them (only the partition the order id hashes to is read).",
		"The last line says where the order stands and, unless the saga is over, what it waits for: an event not yet",
		"published, a record a group has not consumed (with the group's committed offset and its lag, the records",
		"before this one it still has to consume), a dead-lettered record, or a missing effect.",
		"",
		"The saga is over when the order is CONFIRMED and its stock COMMITTED, or CANCELLED with its payment FAILED",
		"or REFUNDED and its stock REJECTED or RELEASED.",
		"",
		"Exit status 0: the saga is over, 1: it waits for something, 2: no such order or could not run.",
	}, true, stderr)
	conn := addConnFlags(fs, true, 30*time.Second)
	asJSON := fs.Bool("json", false, "print the order as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	cfg, problems := conn.config(getenv)
	switch {
	case len(rest) == 0:
		problems = append(problems, "no order id")
	case len(rest) > 1:
		problems = append(problems, fmt.Sprintf("one order id, not %q", rest))
	default:
		if _, err := uuid.Parse(rest[0]); err != nil {
			problems = append(problems, fmt.Sprintf("order id %q is not a UUID", rest[0]))
		}
	}
	if len(problems) > 0 {
		return usageError("order", problems)
	}

	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	t, err := timeline.Load(ctx, cfg, rest[0])
	if err != nil {
		// No such order (timeline.ErrNotFound) or something unreadable.
		return program.Exit(2, "order: "+err.Error())
	}
	if *asJSON {
		err = t.WriteJSON(stdout)
	} else {
		err = t.Write(stdout)
	}
	if err != nil {
		return program.Exit(2, "order: writing: "+err.Error())
	}
	if !t.Terminal {
		return program.Exit(1, "")
	}
	return nil
}
