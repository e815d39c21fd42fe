package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const topic = "outbox.event.cart"

// migrations give the test service a widgets table next to the inbox the
// consumer needs.
var migrations = fstest.MapFS{
	"000001_init.up.sql":   {Data: []byte("CREATE TABLE widgets (name text PRIMARY KEY);\n" + inbox.Schema)},
	"000001_init.down.sql": {Data: []byte("DROP TABLE inbox; DROP TABLE widgets;")},
}

// cart is a small service, built step by step as every app package
// builds one: each event inserts a widget named by its payload, GET
// /widgets counts them.
type cart struct {
	migrations fs.FS
	handler    consumer.Handler
	tasks      []Task
	hold, held chan struct{} // GET /hold, when set
}

func newCart() cart {
	return cart{migrations: migrations, handler: func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		_, err := tx.Exec(ctx, `INSERT INTO widgets (name) VALUES ($1)`, string(ev.Payload))
		return err
	}}
}

func (c cart) start(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	pool, err := Open(ctx, "cart", cfg, c.migrations, log)
	if err != nil {
		return nil, err
	}
	cpool, err := OpenConsumerPool(ctx, "cart", cfg, log)
	if err != nil {
		pool.Close()
		return nil, err
	}
	cc := cfg.Consumer(cpool, log)
	cc.Topics = []string{topic}
	cc.Handler = c.handler
	cc.Validate = func(ev consumer.Event) error {
		if len(ev.Payload) == 0 {
			return errors.New("empty payload")
		}
		return nil
	}
	cons, err := consumer.New(cc)
	if err != nil {
		pool.Close()
		cpool.Close()
		return nil, fmt.Errorf("cart: %w", err)
	}
	e := HTTP(cfg, pool, cons, log)
	e.GET("/widgets", func(c echo.Context) error {
		var n int
		if err := pool.QueryRow(c.Request().Context(), `SELECT count(*) FROM widgets`).Scan(&n); err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(n))
	})
	if c.hold != nil {
		// Holds one of the HTTP pool's connections until c.hold closes.
		e.GET("/hold", func(ec echo.Context) error {
			conn, err := pool.Acquire(ec.Request().Context())
			if err != nil {
				return err
			}
			defer conn.Release()
			c.held <- struct{}{}
			<-c.hold
			return ec.NoContent(http.StatusNoContent)
		})
	}
	return Serve(ctx, "cart", cfg, Parts{Pool: pool, ConsumerPool: cpool, Consumer: cons, HTTP: e, Tasks: c.tasks}, log)
}

// logBuffer collects log output for the test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func config(dsn, broker string) Config {
	return Config{
		HTTPAddr: "127.0.0.1:0", DatabaseURL: dsn, Brokers: []string{broker}, Group: "cart-service",
		KafkaClientOpts: []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)},
	}
}

func start(t *testing.T, cfg Config, out io.Writer) *Service {
	t.Helper()
	s, err := newCart().start(t.Context(), cfg, slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func get(t *testing.T, s *Service, path string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	broker := kafkatest.Start(t)
	s := start(t, config(pgtest.NewDatabase(t), broker), &logs)

	if status, body, err := get(t, s, "/healthz"); err != nil || status != http.StatusOK {
		t.Fatalf("healthz = %d %s %v", status, body, err)
	}
	waitFor(t, "readiness of database and broker", func() bool {
		status, body, err := get(t, s, "/readyz")
		return err == nil && status == http.StatusOK &&
			strings.Contains(body, `"database":"ok"`) && strings.Contains(body, `"broker":"ok"`)
	})
	one, two := eventtest.Record(t, topic, "Added", "one", []byte("one")), eventtest.Record(t, topic, "Added", "two", []byte("two"))
	kafkatest.Produce(t, broker, topic, one, eventtest.Redelivery(one), two) // one is delivered twice
	waitFor(t, "both widgets", func() bool {
		_, body, err := get(t, s, "/widgets")
		return err == nil && body == "2"
	})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, _, err := get(t, s, "/healthz"); err == nil {
		t.Fatal("HTTP still answers after Shutdown")
	}
	select {
	case <-s.Done():
		t.Fatalf("Done closed by a graceful shutdown: %v", s.Err())
	default:
	}
	if s.Err() != nil {
		t.Fatalf("Err after a clean shutdown = %v", s.Err())
	}
	for _, msg := range []string{"starting cart service", "cart service started", "stopping cart service", "cart service stopped"} {
		if !strings.Contains(logs.String(), `msg="`+msg+`"`) {
			t.Errorf("no %q log line in:\n%s", msg, logs.String())
		}
	}
}

// The consumer has connections of its own: with every connection of the
// HTTP pool held by requests, events are still applied.
func TestConsumerHasItsOwnConnections(t *testing.T) {
	t.Parallel()
	broker := kafkatest.Start(t)
	dsn := pgtest.NewDatabase(t)
	c := newCart()
	c.hold, c.held = make(chan struct{}), make(chan struct{}, 1)
	cfg := config(dsn, broker)
	cfg.DatabaseConns, cfg.ConsumerConns = 1, 2
	s, err := c.start(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	waitFor(t, "readiness", func() bool {
		status, _, err := get(t, s, "/readyz")
		return err == nil && status == http.StatusOK
	})
	holding := make(chan error, 1)
	go func() {
		_, _, err := get(t, s, "/hold")
		holding <- err
	}()
	<-c.held // the HTTP pool's only connection is taken
	kafkatest.Produce(t, broker, topic, eventtest.Record(t, topic, "Added", "x", []byte("while-held")))
	direct, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close(context.Background())
	waitFor(t, "the event applied while HTTP holds every connection of its pool", func() bool {
		var n int
		return direct.QueryRow(t.Context(), `SELECT count(*) FROM widgets WHERE name = 'while-held'`).Scan(&n) == nil && n == 1
	})
	close(c.hold)
	if err := <-holding; err != nil {
		t.Fatal(err)
	}
}

// Tasks run at start and then periodically, a failing one keeps its turn,
// and Shutdown returns only once every task has stopped.
func TestTasksRunUntilShutdown(t *testing.T) {
	var ok, failing atomic.Int32
	var blocked, released atomic.Bool
	c := newCart()
	c.tasks = []Task{
		{Name: "prune", Every: 10 * time.Millisecond, Run: func(context.Context) error { ok.Add(1); return nil }},
		{Name: "flaky", Every: 10 * time.Millisecond, Run: func(context.Context) error { failing.Add(1); return errors.New("table locked") }},
		// Holds its turn until the service stops it.
		{Name: "slow", Every: time.Hour, Run: func(ctx context.Context) error {
			blocked.Store(true)
			<-ctx.Done()
			released.Store(true)
			return ctx.Err()
		}},
	}
	var logs logBuffer
	s, err := c.start(t.Context(), config(pgtest.NewDatabase(t), kafkatest.Start(t)), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tasks to run", func() bool { return ok.Load() >= 3 && failing.Load() >= 3 && blocked.Load() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Err() != nil {
		t.Fatalf("a failing task stopped the service: %v", s.Err())
	}
	if !released.Load() {
		t.Fatal("Shutdown returned while a task was still running")
	}
	if !strings.Contains(logs.String(), "periodic task failed") || !strings.Contains(logs.String(), "table locked") {
		t.Fatalf("the failing task was not logged:\n%s", logs.String())
	}
}

// Subscribe builds a running consumer on a pool of its own, and refuses a
// subscription the consumer cannot run, leaving nothing open.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	cfg := config(pgtest.NewDatabase(t), kafkatest.Start(t))
	log := slog.New(slog.DiscardHandler)
	mux := consumer.Mux{"Added": newCart().handler}
	cons, cpool, err := Subscribe(t.Context(), "cart", cfg, Subscription{Mux: mux, Topics: []string{topic}}, NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer cpool.Close()
	if cons == nil || cpool.Config().MaxConns != DefaultConsumerConns {
		t.Fatalf("consumer %v, pool of %d connections; want a consumer on a pool of %d", cons, cpool.Config().MaxConns, DefaultConsumerConns)
	}
	if _, _, err := Subscribe(t.Context(), "cart", cfg, Subscription{Mux: mux}, NewRegistry(), log); err == nil || !strings.HasPrefix(err.Error(), "cart: ") {
		t.Fatalf("Subscribe without topics = %v, want a cart error", err)
	}
	// The consumer takes only the mux's types: others need no transaction.
	two := consumer.Mux{"Removed": newCart().handler, "Added": newCart().handler}
	lock := func(context.Context, *pgx.Batch, []consumer.Event) error { return nil }
	if cc := (Subscription{Mux: two, Topics: []string{topic}, LockBatch: lock}).config(consumer.Config{}, NewRegistry()); !slices.Equal(cc.Types, []string{"Added", "Removed"}) ||
		!slices.Equal(cc.Topics, []string{topic}) || cc.Handler == nil || cc.Metrics == nil || cc.LockBatch == nil {
		t.Fatalf("consumer config: types %v, topics %v, handler set %v, metrics set %v, batch locks set %v; want the mux's types, the topics, a handler, metrics and the batch locks",
			cc.Types, cc.Topics, cc.Handler != nil, cc.Metrics != nil, cc.LockBatch != nil)
	}
}
