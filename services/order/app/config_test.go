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

	"github.com/outboxcdc/outboxcdc/libs/pgtest"
	"github.com/outboxcdc/outboxcdc/services/order/app"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c app.Config)
		bad   []string // variables the error must name
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, c app.Config) {
			if c.HTTPAddr != "127.0.0.1:8080" || c.DatabaseURL != app.DefaultDatabaseURL || c.Group != "order-service" ||
				!slices.Equal(c.Brokers, []string{"127.0.0.1:9092"}) || !c.OutboxDeleteAfterInsert ||
				c.LogLevel != slog.LevelInfo || c.HTTPBodyLimit != "64K" || c.ShutdownTimeout != 10*time.Second {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "overrides", env: map[string]string{
			"HTTP_ADDR": ":9000", "DATABASE_URL": "postgresql://u:p@db:5432/o", "KAFKA_BROKERS": "k1:9092, k2:9093",
			"KAFKA_GROUP": "g", "OUTBOX_DELETE_AFTER_INSERT": "false", "LOG_LEVEL": "debug",
			"HTTP_BODY_LIMIT": "1M", "SHUTDOWN_TIMEOUT": "3s",
		}, check: func(t *testing.T, c app.Config) {
			if c.HTTPAddr != ":9000" || c.DatabaseURL != "postgresql://u:p@db:5432/o" || c.Group != "g" ||
				!slices.Equal(c.Brokers, []string{"k1:9092", "k2:9093"}) || c.OutboxDeleteAfterInsert ||
				c.LogLevel != slog.LevelDebug || c.HTTPBodyLimit != "1M" || c.ShutdownTimeout != 3*time.Second {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "bad values", env: map[string]string{
			"HTTP_ADDR": "nohost", "DATABASE_URL": "mysql://user:secret@x/y", "KAFKA_BROKERS": "k1:9092,,",
			"OUTBOX_DELETE_AFTER_INSERT": "maybe", "LOG_LEVEL": "loud", "HTTP_BODY_LIMIT": "lots",
			"SHUTDOWN_TIMEOUT": "-1s",
		}, bad: []string{"HTTP_ADDR", "DATABASE_URL", "KAFKA_BROKERS", "OUTBOX_DELETE_AFTER_INSERT", "LOG_LEVEL",
			"HTTP_BODY_LIMIT", "SHUTDOWN_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := app.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatal("invalid environment accepted")
			}
			for _, name := range tt.bad {
				if !strings.Contains(err.Error(), name+"=") {
					t.Errorf("error does not name %s: %v", name, err)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error reveals the database password: %v", err)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.place(sampleOrder)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := e.app.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := e.try(http.MethodGet, "/healthz", nil, nil); err == nil {
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
	_, err := app.Start(t.Context(), app.Config{
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
