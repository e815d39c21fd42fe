package service

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

var discard = slog.New(slog.DiscardHandler)

// connections counts the sessions other than the caller's on dsn's
// database.
func connections(t *testing.T, dsn string) int {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStartFails(t *testing.T) {
	t.Parallel()
	broker := kafkatest.Start(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	brokenMigrations := fstest.MapFS{"000001_init.up.sql": {Data: []byte("CREATE TABLE (")}, "000001_init.down.sql": {Data: nil}}

	tests := []struct {
		name   string
		cfg    func(dsn string) Config
		cart   func(cart) cart
		want   string
		leaves bool // whether the database was reached, so Start must have closed its connections
	}{
		{"database missing", func(dsn string) Config {
			c := config(strings.Replace(dsn, "/t_", "/missing_", 1), broker)
			c.DatabaseWait = time.Second
			return c
		}, nil, "cart: pgdb: database missing_", false},
		{"migration fails", nil, func(c cart) cart { c.migrations = brokenMigrations; return c }, "cart: pgdb: migrate up", true},
		{"no handler", nil, func(c cart) cart { c.handler = nil; return c }, "cart: consumer: Handler is required", true},
		{"address in use", func(dsn string) Config {
			c := config(dsn, broker)
			c.HTTPAddr = busy.Addr().String()
			return c
		}, nil, "cart: listen on " + busy.Addr().String(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.NewDatabase(t)
			cfg, c := config(dsn, broker), newCart()
			if tt.cfg != nil {
				cfg = tt.cfg(dsn)
			}
			if tt.cart != nil {
				c = tt.cart(c)
			}
			s, err := c.start(t.Context(), cfg, discard)
			if err == nil {
				s.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want an error saying %q", err, tt.want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Start timed out instead of failing: %v", err)
			}
			if tt.leaves {
				waitFor(t, "Start's connections to close", func() bool { return connections(t, dsn) == 0 })
			}
		})
	}
}

// A component that stops on its own closes Done; Run then shuts the
// service down and returns the failure.
func TestFailureClosesDone(t *testing.T) {
	t.Parallel()
	cfg := config(pgtest.NewDatabase(t), kafkatest.Start(t))
	// The consumer's client rejects this option when Run creates it.
	cfg.KafkaClientOpts = append(cfg.KafkaClientOpts, kgo.ConnIdleTimeout(-1))
	s, err := newCart().start(t.Context(), cfg, discard)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done not closed after the consumer failed")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "cart: consumer stopped") {
		t.Fatalf("Err = %v, want the consumer's failure", err)
	}
	var released atomic.Int32
	err = s.Run(t.Context(), func() { released.Add(1) })
	if err == nil || !strings.Contains(err.Error(), "cart: consumer stopped") {
		t.Fatalf("Run = %v, want the consumer's failure", err)
	}
	if released.Load() != 1 {
		t.Fatalf("release called %d times, want once", released.Load())
	}
	if _, _, err := get(t, s, "/healthz"); err == nil {
		t.Fatal("HTTP still answers after Run returned")
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	s, err := newCart().start(t.Context(), config(pgtest.NewDatabase(t), kafkatest.Start(t)), discard)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	var released atomic.Int32
	go func() { errc <- s.Run(ctx, func() { released.Add(1) }) }()
	if _, _, err := get(t, s, "/healthz"); err != nil {
		t.Fatalf("healthz before the stop: %v", err)
	}
	cancel() // what a signal does in main
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if released.Load() != 1 {
		t.Fatalf("release called %d times, want once", released.Load())
	}
	if _, _, err := get(t, s, "/healthz"); err == nil {
		t.Fatal("HTTP still answers after Run returned")
	}
}

// A Shutdown whose context has already ended reports what did not stop in
// time instead of waiting. A request in flight keeps the HTTP server from
// stopping at once; the consumer may or may not (one that has not joined
// its group yet stops at once).
func TestShutdownBoundedByContext(t *testing.T) {
	t.Parallel()
	c := newCart()
	c.hold, c.held = make(chan struct{}), make(chan struct{}, 1)
	s, err := c.start(t.Context(), config(pgtest.NewDatabase(t), kafkatest.Start(t)), discard)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	holding := make(chan error, 1)
	go func() {
		_, _, err := get(t, s, "/hold")
		holding <- err
	}()
	select {
	case <-c.held:
	case err := <-holding:
		t.Fatalf("GET /hold returned before it was held: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("GET /hold was not held")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for http server") {
		t.Fatalf("Shutdown = %v, want it to give up waiting for the HTTP server", err)
	}
	if again := s.Shutdown(t.Context()); again == nil || again.Error() != err.Error() {
		t.Fatalf("second Shutdown = %v, want the first result %v", again, err)
	}
	close(c.hold)
	if err := <-holding; err != nil {
		t.Fatalf("GET /hold: %v", err)
	}
	// The components were told to stop all the same.
	for _, done := range []chan struct{}{s.httpDone, s.consumerDone} {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("a component kept running after Shutdown gave up waiting")
		}
	}
}
