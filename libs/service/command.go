package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

// Command is a service binary's whole run: read the configuration through
// getenv with configFromEnv, log to stdout at its level and in its format
// (JSON unless LOG_FORMAT or a terminal says text), start the
// service with start, and run it until ctx is done (the signal) or a
// component fails, then shut it down. release is passed to Run.
func Command(ctx context.Context, release context.CancelFunc, getenv func(string) string, stdout io.Writer,
	configFromEnv func(getenv func(string) string) (Config, error),
	start func(context.Context, Config, *slog.Logger) (*Service, error)) error {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	log, err := program.Logger(stdout, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("LOG_FORMAT: %w", err)
	}
	s, err := start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx, release)
}

// Main is a service binary's main: Command with the process's environment
// and stdout, under program.Main (signals, the error line, the exit
// status). It never returns.
func Main(name string, configFromEnv func(getenv func(string) string) (Config, error),
	start func(context.Context, Config, *slog.Logger) (*Service, error)) {
	program.Main(name, func(ctx context.Context, release context.CancelFunc) error {
		return Command(ctx, release, os.Getenv, os.Stdout, configFromEnv, start)
	})
}
