// Command e2e is the black-box end-to-end check behind scripts/e2e.sh. It
// talks to whichever stack listens on the standard ports (the docker compose
// stack with Debezium, or the embedded one with walrelay) using only HTTP and
// the Kafka protocol, seeds stock and balances under names unique to the run,
// and checks the order saga with deadlines, never fixed sleeps:
//
//   - an order is confirmed, charged and its stock reserved;
//   - an order the customer cannot pay for is cancelled and its stock released;
//   - an order for missing stock is cancelled and its payment refunded;
//   - an Idempotency-Key replay returns the original order, a reuse with another body is refused;
//   - an OrderCreated record produced a second time onto its topic charges once;
//   - a garbage record on outbox.event.order lands in the dead-letter topic with a reason,
//     and later orders still complete.
//
// It prints one line per check and a summary, and exits 1 when any check fails.
//
// Environment: ORDER_URL [http://127.0.0.1:8080], PAYMENT_URL [:8081],
// INVENTORY_URL [:8082], KAFKA_BROKERS [127.0.0.1:9092], E2E_TIMEOUT [90s per check].
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

// main exits 1 when a check failed, 2 when the checks could not run.
func main() {
	program.Main("e2e", func(ctx context.Context, _ context.CancelFunc) error {
		failed, err := run(ctx, os.Getenv, os.Stdout)
		switch {
		case err != nil:
			return program.Exit(2, err.Error())
		case failed > 0:
			return program.Exit(1, "")
		}
		return nil
	})
}

func run(ctx context.Context, getenv func(string) string, out io.Writer) (failed int, err error) {
	timeout := 90 * time.Second
	if v := getenv("E2E_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("E2E_TIMEOUT: %w", err)
		}
	}
	s, err := newSuite(getenv, timeout)
	if err != nil {
		return 0, err
	}
	defer s.close()
	checks := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"confirmed order", s.confirmedOrder},
		{"insufficient balance cancels and releases stock", s.insufficientBalance},
		{"missing stock cancels and refunds the payment", s.missingStock},
		{"idempotency key replay", s.idempotencyReplay},
		{"duplicated OrderCreated charges once", s.duplicateOrderCreated},
		{"garbage record goes to the DLQ, later orders complete", s.garbageToDLQ},
	}
	passed := 0
	for _, c := range checks {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.fn(cctx)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL  %-55s %6.1fs  %v\n", c.name, time.Since(start).Seconds(), err)
			continue
		}
		passed++
		fmt.Fprintf(out, "PASS  %-55s %6.1fs\n", c.name, time.Since(start).Seconds())
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	return failed, nil
}
