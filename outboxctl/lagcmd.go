package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/lag"
)

// runLag is `outboxctl lag`: exit 0, or 1 when a group lags more than
// --max-lag; 2 when something cannot be read.
func runLag(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("lag", "lag [flags]", []string{
		"Prints every consumer group's lag per topic and partition: the records between its committed offset and",
		"the partition's last stable offset (the end a read_committed consumer can reach; records of an open",
		"transaction are no lag yet). A backlog of up to " + fmt.Sprint(lag.ExactLimit) + " offsets is read and its records counted, so",
		"transaction markers, which take offsets, count for nothing; a longer one is counted in offsets (shown ~N).",
		"A group without a committed offset on a partition lags by the whole partition: the services' consumers",
		"start at the log start.",
		"",
		"Then each replication slot of the services' databases (and the physical slots of their servers) with the",
		"WAL it holds back: pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn).",
		"",
		"Exit status 0: read, 1: a group's lag (summed over its partitions) is above --max-lag, 2: could not run.",
	}, true, stderr)
	conn := addConnFlags(fs, true, 30*time.Second)
	maxLag := fs.Int64("max-lag", -1, "exit 1 when a group's total lag is above this many records; negative: no threshold")
	groups := fs.String("group", "", "only these consumer `groups`, comma-separated (default every group the broker lists)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	st, problems := conn.config(getenv)
	if len(rest) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", rest))
	}
	if len(problems) > 0 {
		return usageError("lag", problems)
	}
	cfg := lag.Config{Config: st, MaxLag: *maxLag}
	for g := range strings.SplitSeq(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			cfg.Groups = append(cfg.Groups, g)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
	defer cancel()
	rep, err := lag.Run(ctx, cfg)
	if err != nil {
		return program.Exit(2, "lag: "+err.Error())
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.Write(stdout)
	}
	if err != nil {
		return program.Exit(2, "lag: writing the report: "+err.Error())
	}
	if len(rep.Over) > 0 {
		return program.Exit(1, fmt.Sprintf("lag: %s above %d", strings.Join(rep.Over, ", "), rep.MaxLag))
	}
	return nil
}
