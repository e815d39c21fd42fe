// Command benchsaga measures the whole order saga under load (make
// bench-saga): orders placed over HTTP against the stack that listens on
// the standard ports (or one it starts with -start), each followed until it
// is CONFIRMED or CANCELLED.
//
// Per step it prints the offered load, POST /orders throughput and latency
// (p50/p99), orders reaching a terminal state per second, create-to-terminal
// latency (p50/p99/max, from the order's own timestamps), the backlog of
// orders still pending when the step ends, the CPU seconds each process
// of the stack used (services, relay, broker, PostgreSQL with its backends,
// the benchmark itself), and PostgreSQL's write transactions per order (the
// transaction ids it assigned, in every database, during the step and its
// drain, over the orders placed: fewer as the consumers' batches grow) and
// the CPU milliseconds the stack spent per order placed (every process but
// the benchmark, over the step and its drain). The steps: the write path alone (-write-bursts
// bursts of -write-orders orders from -clients clients with the orders
// connector paused through the Kafka Connect REST API, so nothing
// downstream runs; each burst's orders settle once it resumes), open loop
// at each of -rates for -step
// each, stopping after the first one the saga cannot keep up with (a
// higher rate would only measure a longer queue), then a closed loop of
// -clients clients (saturation); each step's orders settle (up to -drain)
// before the next. First, while the stack is quiet, a pgx loop runs a
// transaction of the same shape as POST /orders (idempotency key, order,
// items, history, outbox insert guarded by the capture check, and delete,
// as one pipelined batch, as the order service sends them) directly on the
// orders database, in a scratch schema, so the table ends with the ratio
// of the HTTP write path alone to the database's own rate. Results go to -out as
// a text table and an SVG plot of throughput and latency against offered
// load.
//
// Read the ratios, not the absolute figures: everything shares the
// machine's cores.
package main

import (
	"context"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

func main() {
	program.Main("benchsaga", func(ctx context.Context, _ context.CancelFunc) error {
		cfg, err := parseConfig(os.Args[1:], os.Getenv)
		if err != nil {
			return program.Exit(2, err.Error())
		}
		_, err = run(ctx, cfg, os.Stdout)
		return err
	})
}
