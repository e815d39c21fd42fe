package servicetest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// LogBuffer is a bytes.Buffer a logger and a test can share.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Run is a command's run function.
type Run func(ctx context.Context, stop context.CancelFunc, getenv func(string) string, stdout io.Writer) error

// within bounds start-up and shutdown; generous for the race detector.
const within = 30 * time.Second

// StopsOnSignal runs run with env as its environment until its log says
// "<name> service started", then cancels its context as SIGTERM does
// through signal.NotifyContext, and fails the test unless run returns nil,
// in time, having logged "<name> service stopped". It returns the log.
func StopsOnSignal(t testing.TB, name string, env map[string]string, run Run) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out LogBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, cancel, func(k string) string { return env[k] }, &out) }()

	started := `"msg":"` + name + ` service started"`
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), started) {
		select {
		case err := <-errc:
			t.Fatalf("run returned before start-up finished: %v\n%s", err, out.String())
		case <-deadline.C:
			t.Fatalf("%s service did not start within %v:\n%s", name, within, out.String())
		case <-tick.C:
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run = %v\n%s", err, out.String())
		}
	case <-time.After(within):
		t.Fatalf("run did not return within %v of the signal", within)
	}
	if !strings.Contains(out.String(), `"msg":"`+name+` service stopped"`) {
		t.Fatalf("no shutdown log:\n%s", out.String())
	}
	return out.String()
}

// WaitFor polls cond every 20ms until it holds, failing the test when
// within passes first (or the test's context ends) with what it waited
// for.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		}
	}
}

// StartFunc is an app package's Start.
type StartFunc func(ctx context.Context, cfg service.Config, log *slog.Logger) (*service.Service, error)

// Start starts a service in-process for the test. When the test ends it
// shuts the service down, failing the test if that fails or if a
// component failed on its own while the test ran.
func Start(t testing.TB, start StartFunc, cfg service.Config, log *slog.Logger) *service.Service {
	t.Helper()
	s, err := start(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := s.Err(); err != nil {
			t.Errorf("service failed: %v", err)
		}
	})
	return s
}

// Command tests a service binary's run as its main wires it (see
// service.Command): with a database and a broker it starts and stops
// cleanly on the signal (StopsOnSignal); with a bad KAFKA_BROKERS or
// OTEL_EXPORTER_OTLP_ENDPOINT it fails at once with an error naming the
// variable.
func Command(t *testing.T, name string, configFromEnv func(getenv func(string) string) (service.Config, error), start StartFunc) {
	run := func(ctx context.Context, release context.CancelFunc, getenv func(string) string, stdout io.Writer) error {
		return service.Command(ctx, release, name, getenv, stdout, configFromEnv, start)
	}
	t.Run("stops cleanly on a signal", func(t *testing.T) {
		StopsOnSignal(t, name, map[string]string{
			"HTTP_ADDR":     "127.0.0.1:0",
			"DATABASE_URL":  pgtest.NewDatabase(t),
			"KAFKA_BROKERS": kafkatest.Start(t),
			"LOG_LEVEL":     "info",
		}, run)
	})
	t.Run("names a bad variable", func(t *testing.T) {
		var out LogBuffer
		err := run(t.Context(), func() {}, func(k string) string {
			if k == "KAFKA_BROKERS" {
				return "no-port"
			}
			return ""
		}, &out)
		if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS") || !strings.HasPrefix(err.Error(), name+" config: ") {
			t.Fatalf("run = %v, want a %s config error naming KAFKA_BROKERS", err, name)
		}
	})
	t.Run("names a bad tracing variable", func(t *testing.T) {
		var out LogBuffer
		err := run(t.Context(), func() {}, func(k string) string {
			if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
				return "collector:4318"
			}
			return ""
		}, &out)
		if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
			t.Fatalf("run = %v, want an error naming OTEL_EXPORTER_OTLP_ENDPOINT", err)
		}
	})
}
