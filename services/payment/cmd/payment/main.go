// Command payment runs the payment service: customer accounts and the
// payment step of the order saga. It is configured through the environment
// (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/outboxcdc/outboxcdc/services/payment/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "payment:", err)
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
