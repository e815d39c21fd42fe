// Command bench measures walrelay against the raw speed of the WAL on this
// machine, in one run:
//
//  1. fills a backlog of outbox inserts (default 100,000) behind two
//     pgoutput replication slots;
//  2. drains one slot with pg_recvlogical to /dev/null (the baseline: how
//     fast PostgreSQL can ship that WAL here);
//  3. drains the other with walrelay into the embedded broker, timing until
//     the relay has confirmed the whole backlog, which it only does once the
//     broker acknowledged every record;
//  4. prints both rates, their ratio and walrelay's peak RSS;
//  5. inserts at a steady rate (default 1,000/s) and prints commit-to-consume
//     latency percentiles measured by a Kafka consumer.
//
// Run it with `make bench`. Flags: -events, -rate, -duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg benchConfig
	flag.IntVar(&cfg.events, "events", 100_000, "backlog size (outbox inserts, one per transaction)")
	flag.IntVar(&cfg.rate, "rate", 1_000, "steady insert rate for the latency phase (per second)")
	flag.DurationVar(&cfg.duration, "duration", 15*time.Second, "length of the latency phase")
	flag.Parse()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
