// Command walrelay streams outbox rows from PostgreSQL's WAL to Kafka,
// producing the records Debezium's PostgreSQL connector with the Outbox
// Event Router produces, and is managed through the same Kafka Connect
// REST API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
	"github.com/outboxcdc/outboxcdc/libs/program"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "walrelay:", err)
		os.Exit(1)
	}
}

// run wires the program and blocks until SIGINT/SIGTERM or a fatal error.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, lookup, environ(), stderr)
	if err != nil {
		return err
	}
	var creds map[string]string
	if cfg.CredentialsFile != "" {
		f, err := os.Open(cfg.CredentialsFile)
		if err != nil {
			return fmt.Errorf("REST credentials: %w", err)
		}
		creds, err = relay.ReadCredentials(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("REST credentials %s: %w", cfg.CredentialsFile, err)
		}
	}
	log, err := program.Logger(stdout, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Info("starting walrelay", "version", version, "listen", cfg.Listen, "bootstrap_servers", cfg.Brokers,
		"config_topic", cfg.ConfigTopic, "rest_auth", len(creds) > 0)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// Connections wait in the listen backlog until the stored connectors
	// are loaded, so a 200 from GET / means the worker is ready, as
	// register scripts expect.
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.StartTimeout)
	r, err := relay.Start(startCtx, relay.Config{
		Brokers:         cfg.Brokers,
		Worker:          cfg.Worker,
		ConfigTopic:     cfg.ConfigTopic,
		WorkerID:        cfg.WorkerID,
		Listener:        ln,
		LookupEnv:       lookup,
		Logger:          log,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Pprof:           cfg.Pprof,
		HTTPTimeouts:    cfg.HTTPTimeouts,
		Credentials:     creds,
		AllowedHosts:    cfg.AllowedHosts,
		Version:         version,
		Commit:          commit(),
	})
	cancelStart()
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("REST API listening", "addr", ln.Addr().String())

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-r.Failed():
		log.Error("REST server failed", "error", err)
	}
	stop() // a second signal kills the process the default way

	if e := r.Close(context.Background()); e != nil {
		log.Warn("stopping", "error", e)
	}
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
