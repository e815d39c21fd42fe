package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/dlq"
)

const dlqTimeout = 30 * time.Second

// runDLQ is `outboxctl dlq list|show|replay`.
func runDLQ(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		dlqUsage(stderr)
		return program.Exit(2, "")
	}
	switch args[0] {
	case "list":
		return runDLQList(ctx, args[1:], getenv, stdout, stderr)
	case "show":
		return runDLQShow(ctx, args[1:], getenv, stdout, stderr)
	case "replay":
		return runDLQReplay(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		dlqUsage(stderr)
		return nil
	}
	fmt.Fprintf(stderr, "outboxctl dlq: unknown subcommand %q\n\n", args[0])
	dlqUsage(stderr)
	return program.Exit(2, "")
}

func dlqUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: outboxctl dlq list|show|replay [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The dead letters of outbox.event.{order,payment,inventory}.dlq: records a consumer group gave up on,")
	fmt.Fprintln(w, "with the original key, value and headers and the reason in dlq.* headers.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  list [filters]                        list them; exit 1 when there are any, 0 when none")
	fmt.Fprintln(w, "  show <dlqtopic>/<partition>@<offset>  print one in full; exit 2 when there is no such record")
	fmt.Fprintln(w, "  replay <dlqtopic>/<partition>@<offset> | --all [filters]")
	fmt.Fprintln(w, "                                        copy them back to their original topics; exit 1 when one was refused")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "outboxctl dlq <subcommand> -h prints its flags.")
}

// filterFlags are the flags that select dead letters.
type filterFlags struct{ group, typ, topic, since string }

func addFilterFlags(fs *flag.FlagSet) *filterFlags {
	f := &filterFlags{}
	fs.StringVar(&f.group, "group", "", "only dead letters of this consumer `group` (dlq.group)")
	fs.StringVar(&f.typ, "type", "", "only events of this `type` (the eventType header)")
	fs.StringVar(&f.topic, "topic", "", "only this `topic`'s dead letters: the original topic or its .dlq topic")
	fs.StringVar(&f.since, "since", "", "only dead letters that failed since `when`: a duration back from now (90m, 24h) or a time (RFC 3339, or 2006-01-02)")
	return f
}

func (f *filterFlags) filter(now time.Time) (dlq.Filter, []string) {
	out := dlq.Filter{Group: f.group, Type: f.typ, Topic: f.topic}
	if f.since == "" {
		return out, nil
	}
	if d, err := time.ParseDuration(f.since); err == nil && d >= 0 {
		out.Since = now.Add(-d)
		return out, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, f.since); err == nil {
			out.Since = t
			return out, nil
		}
	}
	return out, []string{fmt.Sprintf("--since %q is neither a duration nor a time", f.since)}
}

func (f *filterFlags) set() bool { return *f != filterFlags{} }

func runDLQList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq list", "dlq list [flags]", []string{
		"Lists the dead letters of the routed topics (or of --topic): where each is and came from, the consumer group",
		"that gave up, the event's type and id, when it failed and the first line of its error.",
		"Exit status 0: none, 1: dead letters listed, 2: could not run.",
	}, false, stderr)
	conn := addConnFlags(fs, false, dlqTimeout)
	filters := addFilterFlags(fs)
	asJSON := fs.Bool("json", false, "print them as a JSON array")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	cfg, problems := conn.config(getenv)
	f, more := filters.filter(time.Now())
	problems = append(problems, more...)
	if len(rest) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", rest))
	}
	if len(problems) > 0 {
		return usageError("dlq list", problems)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	ds, err := dlq.List(ctx, cfg, f)
	if err != nil {
		return program.Exit(2, "dlq list: "+err.Error())
	}
	if *asJSON {
		if ds == nil {
			ds = []*dlq.DeadLetter{}
		}
		err = dlq.WriteJSON(stdout, ds)
	} else {
		err = dlq.WriteList(stdout, ds)
	}
	if err != nil {
		return program.Exit(2, "dlq list: writing: "+err.Error())
	}
	if len(ds) > 0 {
		return program.Exit(1, "")
	}
	return nil
}

func runDLQShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq show", "dlq show [flags] <dlqtopic>/<partition>@<offset>", []string{
		"Prints one dead letter in full: its headers, its key and its value (indented when it is JSON).",
		"Exit status 0: printed, 2: no such record or could not run.",
	}, false, stderr)
	conn := addConnFlags(fs, false, dlqTimeout)
	asJSON := fs.Bool("json", false, "print it as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	cfg, problems := conn.config(getenv)
	var ref dlq.Ref
	if len(rest) != 1 {
		problems = append(problems, "give one record: <dlqtopic>/<partition>@<offset>")
	} else if ref, err = dlq.ParseRef(rest[0]); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return usageError("dlq show", problems)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	d, err := dlq.Get(ctx, cfg, ref)
	if err != nil {
		return program.Exit(2, "dlq show: "+err.Error())
	}
	if *asJSON {
		err = dlq.WriteJSON(stdout, d)
	} else {
		err = dlq.WriteRecord(stdout, d)
	}
	if err != nil {
		return program.Exit(2, "dlq show: writing: "+err.Error())
	}
	return nil
}

func runDLQReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq replay", "dlq replay [flags] <dlqtopic>/<partition>@<offset> | --all [filters]", []string{
		"Copies dead letters back to their original topics: the same key, value and headers, without the dlq.* ones,",
		"plus dlq.replayed.from=<dlqtopic>/<partition>@<offset>, on the partition the key maps to (murmur2, as the",
		"connectors place records). Without a record, --all replays every dead letter the filters select.",
		"",
		"Safe to repeat: the consumers' inboxes recognise an event they have handled and skip its copies. The group",
		"that gave up holds the event in its inbox as dead_lettered, which would make it skip the copy too: replay",
		"deletes that one row (in the group's service database) before producing, so the group handles the copy",
		"once. A dead letter whose event its group has processed since is skipped. One is refused when another group",
		"the topic feeds that handles the event's type consumed the original but its inbox no longer holds the event",
		"(rows older than the consumers' inbox retention, 7 days by default, are pruned): the copy would take effect",
		"there twice. Groups without a handler for the type keep no inbox row for it and are not asked.",
		"",
		"Exit status 0: done, 1: some dead letters refused, 2: no such record or could not run.",
	}, true, stderr)
	conn := addConnFlags(fs, true, dlqTimeout)
	filters := addFilterFlags(fs)
	all := fs.Bool("all", false, "replay every dead letter the filters select")
	dryRun := fs.Bool("dry-run", false, "print what would be replayed; write nothing")
	asJSON := fs.Bool("json", false, "print the results as a JSON array")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	cfg, problems := conn.config(getenv)
	f, more := filters.filter(time.Now())
	problems = append(problems, more...)
	var ref dlq.Ref
	switch {
	case len(rest) > 1:
		problems = append(problems, fmt.Sprintf("one record at a time, not %q", rest))
	case len(rest) == 1 && (*all || filters.set()):
		problems = append(problems, "give a record or --all with filters, not both")
	case len(rest) == 1:
		if ref, err = dlq.ParseRef(rest[0]); err != nil {
			problems = append(problems, err.Error())
		}
	case !*all:
		problems = append(problems, "give a record, or --all to replay every dead letter the filters select")
	}
	if len(problems) > 0 {
		return usageError("dlq replay", problems)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	var ds []*dlq.DeadLetter
	if *all {
		ds, err = dlq.List(ctx, cfg, f)
	} else {
		var d *dlq.DeadLetter
		d, err = dlq.Get(ctx, cfg, ref)
		ds = append(ds, d)
	}
	if err != nil {
		return program.Exit(2, "dlq replay: "+err.Error())
	}
	results, err := dlq.Replay(ctx, cfg, ds, *dryRun)
	var werr error
	if *asJSON {
		werr = dlq.WriteJSON(stdout, results)
	} else {
		werr = dlq.WriteResults(stdout, results)
	}
	switch {
	case err != nil:
		return program.Exit(2, "dlq replay: "+err.Error())
	case werr != nil:
		return program.Exit(2, "dlq replay: writing: "+werr.Error())
	}
	refused := 0
	for _, r := range results {
		if r.Outcome == dlq.Refused {
			refused++
		}
	}
	if refused > 0 {
		return program.Exit(1, fmt.Sprintf("dlq replay: %d dead letter(s) refused", refused))
	}
	return nil
}
