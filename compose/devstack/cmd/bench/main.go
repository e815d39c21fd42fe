// Command bench measures walrelay against Debezium and against the raw
// speed of the WAL on this machine, in one run:
//
//  1. creates one pgoutput replication slot per reader (pg_recvlogical,
//     walrelay, Debezium) and only then fills a backlog of outbox inserts
//     (default 100,000), so every slot holds the identical WAL;
//  2. drains the backlog with pg_recvlogical to /dev/null (the baseline: how
//     fast PostgreSQL can ship that WAL here);
//  3. runs walrelay, then Debezium on Kafka Connect, one after the other and
//     never at the same time, each producing to its own topics on one real
//     Apache Kafka broker. For each it times from connector registration to
//     the first record and to the whole backlog acknowledged by the broker
//     (counted from the broker's end offsets), then inserts at a steady rate
//     (default 1,000/s) and measures commit-to-consume latency with a Kafka
//     consumer;
//  4. measures pg_recvlogical's latency at the same rate on a fresh slot;
//  5. prints one table: drain rate, latency, peak RSS and CPU seconds of
//     each reader's process, time to first record, and walrelay/Debezium.
//
// Without java (or without mvn before the jars are cached) the Debezium
// column is skipped with one line saying why, and walrelay produces to the
// embedded kfake broker instead.
//
// Run it with `make bench` (BENCH_FLAGS="-events N -rate N"). Flags:
// -events, -rate, -duration, -debezium, -set.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

func main() {
	program.Main("bench", func(ctx context.Context, _ context.CancelFunc) error { return parseAndRun(ctx, os.Args[1:]) })
}

// parseAndRun reads the flags and runs the benchmark.
func parseAndRun(ctx context.Context, args []string) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	var cfg benchConfig
	flag.IntVar(&cfg.events, "events", 100_000, "backlog size (outbox inserts, one per transaction)")
	flag.IntVar(&cfg.rate, "rate", 1_000, "steady insert rate of each latency phase (per second)")
	flag.DurationVar(&cfg.duration, "duration", 15*time.Second, "length of each latency phase")
	flag.BoolVar(&cfg.debezium, "debezium", true, "also run Debezium on Kafka Connect (needs java; mvn the first time)")
	flag.Func("set", "`key=value` added to the connector config of both relays (repeatable), e.g. -set poll.interval.ms=10", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", s)
		}
		if slices.Contains(connectorOverrides, k) {
			return fmt.Errorf("%s is set by the bench per relay", k)
		}
		cfg.set = append(cfg.set, [2]string{k, v})
		return nil
	})
	if err := flag.CommandLine.Parse(args); err != nil {
		return program.Exit(2, "")
	}
	cfg.args = args
	if cfg.events < 1 || cfg.rate < 1 || cfg.duration <= 0 {
		return program.Exit(2, "-events, -rate and -duration must be positive")
	}
	return run(ctx, cfg, os.Stdout)
}
