package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/connect"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
)

// Config configures a relay.
type Config struct {
	// Brokers are the Kafka bootstrap servers.
	Brokers []string
	// Worker holds Kafka Connect worker properties (key.converter,
	// config.providers, ...), as the Debezium image's environment sets them.
	Worker map[string]string
	// ConfigTopic is the compacted topic keeping connector configs
	// (default connect_configs).
	ConfigTopic string
	// WorkerID names this worker in status answers (default the listener's address).
	WorkerID string
	// Listener serves the REST API and /metrics.
	Listener net.Listener
	// LookupEnv resolves ${env:NAME} references (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Logger receives the relay's logs (default: discarded).
	Logger *slog.Logger
	// ShutdownTimeout bounds how long a stopping task waits for the broker (default 30s).
	ShutdownTimeout time.Duration
	// Pprof serves Go profiles under /debug/pprof/ (unauthenticated; off by default).
	Pprof bool
	// Version and Commit are reported by GET /.
	Version, Commit string
	// Registry receives the relay's metrics; nil means a new registry with
	// the Go and process collectors.
	Registry *prometheus.Registry
	// HTTPTimeouts bound each REST connection; zero fields take
	// DefaultHTTPTimeouts' values.
	HTTPTimeouts HTTPTimeouts
	// Credentials, when set, are the users (user → password) the REST API
	// and the Go profiles require, by HTTP basic authentication, as Kafka
	// Connect's BasicAuthSecurityRestExtension does. /metrics stays open
	// for scrapers. See ReadCredentials.
	Credentials map[string]string
	// AllowedHosts, when set, are the only database hosts a config that
	// uses ${...} references may name (see connect.Config.AllowedHosts).
	AllowedHosts []string
}

// HTTPTimeouts bound how long one connection to the REST API may take, so
// that a client sending half a header or reading slowly cannot hold it.
type HTTPTimeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // the whole request
	Write      time.Duration // the response (a CPU profile takes its seconds= plus this)
	Idle       time.Duration // between requests on a kept-alive connection
}

// DefaultHTTPTimeouts are the timeouts of a zero HTTPTimeouts.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 2 * time.Minute}

func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	or := func(d, def time.Duration) time.Duration {
		if d <= 0 {
			return def
		}
		return d
	}
	d := DefaultHTTPTimeouts
	return HTTPTimeouts{or(t.ReadHeader, d.ReadHeader), or(t.Read, d.Read), or(t.Write, d.Write), or(t.Idle, d.Idle)}
}

func (t HTTPTimeouts) server(h http.Handler) *http.Server {
	t = t.withDefaults()
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// Relay is a running relay.
type Relay struct {
	log      *slog.Logger
	worker   *connect.Worker
	srv      *http.Server
	url      string
	served   chan error
	shutdown time.Duration
}

// Start loads the stored connectors, starts their tasks and serves the
// REST API. It returns once GET / would answer 200.
func Start(ctx context.Context, cfg Config) (*Relay, error) {
	if cfg.Listener == nil {
		return nil, errors.New("relay: no listener")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.ConfigTopic == "" {
		cfg.ConfigTopic = "connect_configs"
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = cfg.Listener.Addr().String()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Commit == "" {
		cfg.Commit = "unknown"
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	worker, err := connect.New(ctx, connect.Config{
		Brokers:         cfg.Brokers,
		Worker:          cfg.Worker,
		ConfigTopic:     cfg.ConfigTopic,
		WorkerID:        cfg.WorkerID,
		Version:         cfg.Version,
		Commit:          cfg.Commit,
		LookupEnv:       cfg.LookupEnv,
		Logger:          cfg.Logger,
		Metrics:         metrics.New(reg),
		ShutdownTimeout: cfg.ShutdownTimeout,
		AllowedHosts:    cfg.AllowedHosts,
	})
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{
		log:      cfg.Logger,
		worker:   worker,
		srv:      cfg.HTTPTimeouts.server(routes(cfg.Pprof, reg, worker.Handler(), cfg.Credentials)),
		url:      "http://" + cfg.Listener.Addr().String(),
		served:   make(chan error, 1),
		shutdown: cfg.ShutdownTimeout,
	}
	go func() { r.served <- r.srv.Serve(cfg.Listener) }()
	return r, nil
}

// URL is the base URL of the REST API.
func (r *Relay) URL() string { return r.url }

// Failed delivers the REST server's error if it stops serving on its own.
func (r *Relay) Failed() <-chan error { return r.served }

// Close stops serving, then stops every connector task: each stops
// reading, flushes its producer and confirms what the broker acknowledged.
func (r *Relay) Close(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := r.srv.Shutdown(sctx)
	cancel()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.shutdown+10*time.Second)
	defer cancel()
	return errors.Join(err, r.worker.Close(cctx))
}

// routes serves /metrics, the Go profiles when enabled, and the REST API.
func routes(withPprof bool, reg *prometheus.Registry, api http.Handler, creds map[string]string) http.Handler {
	guard := func(h http.Handler) http.Handler {
		if len(creds) == 0 {
			return h
		}
		return basicAuth(creds, h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if withPprof {
		mux.Handle("GET /debug/pprof/", guard(http.HandlerFunc(pprof.Index)))
		mux.Handle("GET /debug/pprof/cmdline", guard(http.HandlerFunc(pprof.Cmdline)))
		mux.Handle("GET /debug/pprof/profile", guard(http.HandlerFunc(pprof.Profile)))
		mux.Handle("GET /debug/pprof/symbol", guard(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("GET /debug/pprof/trace", guard(http.HandlerFunc(pprof.Trace)))
	}
	mux.Handle("/", guard(api))
	return mux
}
