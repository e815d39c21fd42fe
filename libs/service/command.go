package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
)

// Command is a service binary's whole run: read the configuration through
// getenv with configFromEnv, log to stdout at its level and in its format
// (JSON unless LOG_FORMAT or a terminal says text), set up tracing as the
// OTEL_* variables ask (package tracing; the service is "<name>-service"
// unless OTEL_SERVICE_NAME names it), start the service with start, and run
// it until ctx is done (the signal) or a component fails, then shut it
// down and send the spans still batched. release is passed to Run.
func Command(ctx context.Context, release context.CancelFunc, name string, getenv func(string) string, stdout io.Writer,
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
	tp, err := tracing.Setup(ctx, name+"-service", getenv)
	if err != nil {
		return err
	}
	if tp.Endpoint != "" {
		// The SDK reports export failures (the backend down) here; they
		// never stop the service.
		otel.SetErrorHandler(tracing.ErrorHandler(log, time.Minute))
		log.Info("exporting traces", "endpoint", tp.Endpoint)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := tp.Shutdown(sctx); serr != nil {
			log.Warn("spans not sent at shutdown", "err", serr)
		}
	}()
	cfg.Tracing = tp
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
		return Command(ctx, release, name, os.Getenv, os.Stdout, configFromEnv, start)
	})
}
