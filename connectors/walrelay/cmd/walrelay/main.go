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
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/connect"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
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
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	log.Info("starting walrelay", "version", version, "listen", cfg.Listen, "bootstrap_servers", cfg.Brokers, "config_topic", cfg.ConfigTopic)
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.StartTimeout)
	worker, err := connect.New(startCtx, connect.Config{
		Brokers:         cfg.Brokers,
		Worker:          cfg.Worker,
		ConfigTopic:     cfg.ConfigTopic,
		WorkerID:        cfg.WorkerID,
		Version:         version,
		Commit:          commit(),
		LookupEnv:       lookup,
		Logger:          log,
		Metrics:         m,
		ShutdownTimeout: cfg.ShutdownTimeout,
	})
	cancelStart()
	if err != nil {
		return err
	}

	// The REST API answers once the stored connectors are loaded, so a
	// 200 from GET / means the worker is ready, as register scripts
	// expect.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = worker.Close(context.Background())
		return err
	}
	srv := &http.Server{Handler: routes(cfg, reg, worker.Handler()), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("REST API listening", "addr", ln.Addr().String())

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-serveErr:
		log.Error("REST server failed", "error", err)
	}
	stop() // a second signal kills the process the default way

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if e := srv.Shutdown(shutdownCtx); e != nil && !errors.Is(e, http.ErrServerClosed) {
		log.Warn("REST shutdown", "error", e)
	}
	cancel()
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout+10*time.Second)
	defer cancel()
	if e := worker.Close(closeCtx); e != nil {
		log.Warn("stopping connectors", "error", e)
	}
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// routes serves /metrics, the Go profiles when enabled, and the REST API.
func routes(cfg config, reg *prometheus.Registry, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/", api)
	return mux
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
