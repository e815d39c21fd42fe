package service

import (
	"context"
	"io"
	"log/slog"
)

// Command is a service binary's whole run: read the configuration through
// getenv with configFromEnv, log JSON to stdout at its level, start the
// service with start, and run it until ctx is done (the signal) or a
// component fails, then shut it down. release is passed to Run.
func Command(ctx context.Context, release context.CancelFunc, getenv func(string) string, stdout io.Writer,
	configFromEnv func(getenv func(string) string) (Config, error),
	start func(context.Context, Config, *slog.Logger) (*Service, error)) error {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	s, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx, release)
}
