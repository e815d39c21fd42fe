package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/timeline"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/waterfall"
)

// traceSearchMargin is how long before the order's row was created its
// trace is searched from: the request's span starts before the
// transaction, and the services' clocks may differ from the database's.
const traceSearchMargin = 10 * time.Minute

// tracingHint ends every message about a missing trace.
const tracingHint = "the services export traces only when their OTEL_EXPORTER_OTLP_ENDPOINT points at Jaeger's OTLP receiver"

// runOrder is `outboxctl order <id>`: exit 0 when the order's saga is
// over, 1 while it waits for something, 2 when there is no such order or
// it cannot be read, or, with --html, when its trace cannot be read from
// Jaeger or the page cannot be written (the timeline is printed first).
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
		"With --html FILE it also writes the order's trace, read from Jaeger's query API (--jaeger), to FILE as a",
		"waterfall: one self-contained HTML page with every span on one time axis grouped by service, the Kafka hops",
		"between the services labelled topic/partition@offset with their latency, and compensation and failures",
		"marked. The services export traces only when OTEL_EXPORTER_OTLP_ENDPOINT points them at Jaeger.",
		"",
		"Exit status 0: the saga is over, 1: it waits for something, 2: no such order or could not run (with --html:",
		"also Jaeger not answering, or no trace of the order there).",
	}, true, stderr)
	conn := addConnFlags(fs, true, 30*time.Second)
	asJSON := fs.Bool("json", false, "print the order as JSON")
	htmlFile := fs.String("html", "", "also write the order's trace from Jaeger as a waterfall to this HTML `file`")
	jaeger := addJaegerFlag(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	cfg, problems := conn.config(getenv)
	jaegerURL, jaegerProblems := jaeger.resolve(getenv)
	if *htmlFile != "" {
		problems = append(problems, jaegerProblems...)
	}
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
	if *htmlFile != "" {
		if err := writeWaterfall(ctx, jaegerURL, t, *htmlFile, stderr); err != nil {
			return program.Exit(2, "order: "+err.Error())
		}
	}
	if !t.Terminal {
		return program.Exit(1, "")
	}
	return nil
}

// writeWaterfall reads the trace of t's order from Jaeger at jaegerURL,
// writes it to file as a waterfall page and says so on stderr. Its error
// says what is missing: Jaeger, or a trace of the order in it.
func writeWaterfall(ctx context.Context, jaegerURL string, t *timeline.Trace, file string, stderr io.Writer) error {
	since := t.Order.CreatedAt.Add(-traceSearchMargin)
	tr, err := (&waterfall.Client{BaseURL: jaegerURL}).OrderTrace(ctx, t.Order.ID, since)
	switch {
	case errors.Is(err, waterfall.ErrNoTrace):
		return fmt.Errorf("no trace of order %s in Jaeger at %s (searched %s's traces since %s); %s",
			t.Order.ID, jaegerURL, waterfall.OrderService, since.UTC().Format(time.RFC3339), tracingHint)
	case errors.Is(err, waterfall.ErrUnreachable):
		return fmt.Errorf("Jaeger at %s: %w; start it, or point --jaeger or $JAEGER_URL at it; %s", jaegerURL, err, tracingHint)
	case err != nil:
		return fmt.Errorf("reading the trace from Jaeger at %s: %w", jaegerURL, err)
	}
	l, err := waterfall.Build(tr)
	if err != nil {
		return fmt.Errorf("trace %s: %w", tr.TraceID, err)
	}
	l.Caption = t.Stands
	var page bytes.Buffer
	if err := waterfall.Render(&page, l); err != nil {
		return err
	}
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the waterfall: %w", err)
	}
	fmt.Fprintf(stderr, "order: wrote %s: trace %s, %d spans in %d services, %d Kafka hops\n",
		file, tr.TraceID, l.Spans(), len(l.Groups), len(l.Hops))
	return nil
}
