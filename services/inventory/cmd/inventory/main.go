// Command inventory runs the inventory service: stock levels and the
// reservation step of the order saga. It is configured through the environment
// (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/services/inventory/app"
)

func main() {
	program.Main("inventory", func(ctx context.Context, release context.CancelFunc) error {
		return run(ctx, release, os.Getenv, os.Stdout)
	})
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
