package app_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/app"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// The variables and their checks are service.ConfigFromEnv's, tested
// there; this service contributes its defaults and its name.
func TestConfigFromEnv(t *testing.T) {
	c, err := app.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.DatabaseURL != app.DefaultDatabaseURL || c.Group != "order-service" ||
		!slices.Equal(c.Brokers, []string{"127.0.0.1:9092"}) || !c.OutboxDeleteAfterInsert ||
		c.LogLevel != slog.LevelInfo || c.HTTPBodyLimit != "64K" || c.ShutdownTimeout != 10*time.Second ||
		c.MaxBacklog != app.DefaultMaxBacklog {
		t.Fatalf("defaults = %+v", c)
	}
	_, err = app.ConfigFromEnv(func(k string) string {
		return map[string]string{"DATABASE_URL": "mysql://user:secret@x/y", "KAFKA_BROKERS": "k1:9092,,"}[k]
	})
	if err == nil || !strings.HasPrefix(err.Error(), "order config: ") || !strings.Contains(err.Error(), "DATABASE_URL=") ||
		!strings.Contains(err.Error(), "KAFKA_BROKERS=") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want an order config error naming DATABASE_URL and KAFKA_BROKERS without the password", err)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.Place(ordertest.SampleOrder)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := e.Try(http.MethodGet, "/healthz", nil, nil); err == nil {
		t.Fatal("HTTP still answers after Shutdown")
	}
	select {
	case <-e.app.Done():
		t.Fatalf("Done closed by a graceful shutdown: %v", e.app.Err())
	default:
	}
}

func TestStartFailsWithoutDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	// A database that does not exist on the test cluster.
	bad := strings.Replace(dsn, "/t_", "/missing_", 1)
	_, err := app.Start(t.Context(), service.Config{
		HTTPAddr: "127.0.0.1:0", DatabaseURL: bad, Brokers: []string{"127.0.0.1:1"}, Group: "g",
		DatabaseWait: time.Second,
	}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("Start = %v, want a database error", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start timed out instead of failing: %v", err)
	}
}
