// Command order runs the order service: the orders HTTP API and the
// consumer of payment and inventory events. It is configured through the
// environment (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/outboxcdc/outboxcdc/services/order/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "order:", err)
		stop()
		os.Exit(1)
	}
}

// run starts the service and blocks until a signal (ctx) or a component
// failure, then shuts down. stop releases the signal handler, so a second
// signal during shutdown kills the process.
func run(ctx context.Context, stop context.CancelFunc, getenv func(string) string, stdout io.Writer) error {
	cfg, err := app.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx, stop)
}
