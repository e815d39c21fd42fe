package app_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/services/inventory/app"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, err := app.ConfigFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:8082" || cfg.Group != "inventory-service" || len(cfg.Brokers) != 1 || cfg.Brokers[0] != "127.0.0.1:9092" ||
		!cfg.OutboxDeleteAfterInsert || cfg.HTTPBodyLimit != "64K" || cfg.ShutdownTimeout != 10*time.Second || cfg.LogLevel != slog.LevelInfo ||
		!strings.Contains(cfg.DatabaseURL, "inventory_service@127.0.0.1:5432/inventory") {
		t.Fatalf("defaults = %+v", cfg)
	}

	cfg, err = app.ConfigFromEnv(env(map[string]string{
		"HTTP_ADDR": ":0", "KAFKA_BROKERS": "a:1, b:2,", "OUTBOX_DELETE_AFTER_INSERT": "false",
		"LOG_LEVEL": "debug", "SHUTDOWN_TIMEOUT": "3s", "HTTP_BODY_LIMIT": "1M", "KAFKA_GROUP": "g",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":0" || strings.Join(cfg.Brokers, "|") != "a:1|b:2" || cfg.OutboxDeleteAfterInsert || cfg.LogLevel != slog.LevelDebug ||
		cfg.ShutdownTimeout != 3*time.Second || cfg.HTTPBodyLimit != "1M" || cfg.Group != "g" {
		t.Fatalf("overrides = %+v", cfg)
	}

	for _, tc := range []struct{ name, value string }{
		{"HTTP_ADDR", "8081"},
		{"DATABASE_URL", "mysql://x@y/z"},
		{"KAFKA_BROKERS", "nohostport"},
		{"KAFKA_BROKERS", " , "},
		{"OUTBOX_DELETE_AFTER_INSERT", "maybe"},
		{"LOG_LEVEL", "loud"},
		{"HTTP_BODY_LIMIT", "lots"},
		{"SHUTDOWN_TIMEOUT", "-1s"},
		{"DATABASE_WAIT", "soon"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := app.ConfigFromEnv(env(map[string]string{tc.name: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("err = %v, want one naming %s", err, tc.name)
			}
		})
	}
	_, err = app.ConfigFromEnv(env(map[string]string{"DATABASE_URL": "postgres://u:secret@h/db\x7f"}))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want an error that does not echo the password", err)
	}
}
