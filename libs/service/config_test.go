package service

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
)

var defaults = Defaults{HTTPAddr: "127.0.0.1:8089", DatabaseURL: "postgres://cart:cart@127.0.0.1:5432/carts?sslmode=disable", Group: "cart-service", MaxBacklog: 300}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
		bad  []string // variables the error must name, as NAME= unless the value is withheld
	}{
		{name: "defaults", want: Config{
			HTTPAddr: "127.0.0.1:8089", DatabaseURL: defaults.DatabaseURL, Brokers: []string{"127.0.0.1:9092"},
			Group: "cart-service", OutboxDeleteAfterInsert: true, OutboxRequireCapture: true, LogLevel: slog.LevelInfo, HTTPBodyLimit: "64K",
			ShutdownTimeout: 10 * time.Second, DatabaseWait: 30 * time.Second, Retention: 7 * 24 * time.Hour, ConsumerConns: 8, ConsumerBatch: 16, MaxBacklog: 300,
			HTTPTimeouts: httpserver.Timeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute},
		}},
		{name: "overrides", env: map[string]string{
			"HTTP_ADDR": ":0", "DATABASE_URL": "postgresql://u:p@db:5432/o", "KAFKA_BROKERS": "k1:9092, k2:9093,",
			"KAFKA_GROUP": "g", "KAFKA_INSTANCE_ID": "g-0", "OUTBOX_DELETE_AFTER_INSERT": "false", "OUTBOX_REQUIRE_CAPTURE": "false", "LOG_LEVEL": "debug", "LOG_FORMAT": "text",
			"HTTP_BODY_LIMIT": "1M", "SHUTDOWN_TIMEOUT": "3s", "DATABASE_WAIT": "100ms",
			"HTTP_READ_HEADER_TIMEOUT": "1s", "HTTP_READ_TIMEOUT": "2s", "HTTP_WRITE_TIMEOUT": "3s", "HTTP_IDLE_TIMEOUT": "4s",
			"RETENTION": "720h", "DATABASE_CONSUMER_CONNS": "3", "DATABASE_CONNS": "5", "CONSUMER_BATCH_SIZE": "4", "PPROF": "true",
			"MAX_BACKLOG": "0",
		}, want: Config{
			HTTPAddr: ":0", DatabaseURL: "postgresql://u:p@db:5432/o", Brokers: []string{"k1:9092", "k2:9093"},
			Group: "g", InstanceID: "g-0", OutboxDeleteAfterInsert: false, LogLevel: slog.LevelDebug, LogFormat: "text", HTTPBodyLimit: "1M",
			ShutdownTimeout: 3 * time.Second, DatabaseWait: 100 * time.Millisecond, Retention: 720 * time.Hour, DatabaseConns: 5, ConsumerConns: 3, ConsumerBatch: 4, Profiles: true, MaxBacklog: 0,
			HTTPTimeouts: httpserver.Timeouts{ReadHeader: time.Second, Read: 2 * time.Second, Write: 3 * time.Second, Idle: 4 * time.Second},
		}},
		{name: "bad values", env: map[string]string{
			"HTTP_ADDR": "8081", "DATABASE_URL": "mysql://user:secret@x/y", "KAFKA_BROKERS": "k1:9092,,",
			"OUTBOX_DELETE_AFTER_INSERT": "maybe", "LOG_LEVEL": "loud", "HTTP_BODY_LIMIT": "lots",
			"SHUTDOWN_TIMEOUT": "-1s", "DATABASE_WAIT": "soon", "HTTP_READ_HEADER_TIMEOUT": "0", "HTTP_IDLE_TIMEOUT": "forever",
			"RETENTION": "a week", "LOG_FORMAT": "yaml", "DATABASE_CONSUMER_CONNS": "0", "CONSUMER_BATCH_SIZE": "0", "PPROF": "sometimes", "MAX_BACKLOG": "-1",
		}, bad: []string{"MAX_BACKLOG=", "LOG_FORMAT=", "DATABASE_CONSUMER_CONNS=", "CONSUMER_BATCH_SIZE=", "PPROF=", "HTTP_ADDR=", "DATABASE_URL=", "KAFKA_BROKERS=", "OUTBOX_DELETE_AFTER_INSERT=", "LOG_LEVEL=",
			"HTTP_BODY_LIMIT=", "SHUTDOWN_TIMEOUT=", "DATABASE_WAIT=", "HTTP_READ_HEADER_TIMEOUT=", "HTTP_IDLE_TIMEOUT=", "RETENTION="}},
		{name: "no broker", env: map[string]string{"KAFKA_BROKERS": " , "}, bad: []string{"KAFKA_BROKERS="}},
		{name: "broker without a port", env: map[string]string{"KAFKA_BROKERS": "no-port"}, bad: []string{"KAFKA_BROKERS="}},
		{name: "unparsable database URL", env: map[string]string{"DATABASE_URL": "postgres://u:secret@h/db\x7f"},
			bad: []string{"DATABASE_URL: not a URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] }, "cart", defaults)
			if tt.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !equal(c, tt.want) {
					t.Fatalf("config = %+v\nwant     %+v", c, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid environment accepted")
			}
			if !strings.HasPrefix(err.Error(), "cart config: ") {
				t.Errorf("error %q does not name the service", err)
			}
			for _, name := range tt.bad {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name %s: %v", name, err)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error reveals the database password: %v", err)
			}
		})
	}
}

func equal(a, b Config) bool {
	return a.HTTPAddr == b.HTTPAddr && a.DatabaseURL == b.DatabaseURL && slices.Equal(a.Brokers, b.Brokers) &&
		a.Group == b.Group && a.OutboxDeleteAfterInsert == b.OutboxDeleteAfterInsert && a.LogLevel == b.LogLevel &&
		a.HTTPBodyLimit == b.HTTPBodyLimit && a.ShutdownTimeout == b.ShutdownTimeout && a.DatabaseWait == b.DatabaseWait &&
		a.HTTPTimeouts == b.HTTPTimeouts && a.Retention == b.Retention && a.OutboxRequireCapture == b.OutboxRequireCapture &&
		a.InstanceID == b.InstanceID && a.LogFormat == b.LogFormat && a.DatabaseConns == b.DatabaseConns &&
		a.ConsumerConns == b.ConsumerConns && a.ConsumerBatch == b.ConsumerBatch && a.Profiles == b.Profiles && a.MaxBacklog == b.MaxBacklog &&
		len(a.KafkaClientOpts) == 0 && len(b.KafkaClientOpts) == 0
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{HTTPBodyLimit: "64K", ShutdownTimeout: 10 * time.Second, DatabaseWait: 30 * time.Second,
			Retention: DefaultRetention, ConsumerConns: DefaultConsumerConns}},
		{"set", Config{HTTPBodyLimit: "1M", ShutdownTimeout: time.Second, DatabaseWait: time.Millisecond, Retention: time.Hour, ConsumerConns: 2},
			Config{HTTPBodyLimit: "1M", ShutdownTimeout: time.Second, DatabaseWait: time.Millisecond, Retention: time.Hour, ConsumerConns: 2}},
		{"negative", Config{ShutdownTimeout: -1, DatabaseWait: -1, Retention: -1, ConsumerConns: -1},
			Config{HTTPBodyLimit: "64K", ShutdownTimeout: 10 * time.Second, DatabaseWait: 30 * time.Second,
				Retention: DefaultRetention, ConsumerConns: DefaultConsumerConns}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); !equal(got, tt.want) {
				t.Fatalf("withDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}
