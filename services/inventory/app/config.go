package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/gommon/bytes"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of the environment variables ConfigFromEnv reads.
const (
	DefaultHTTPAddr        = "127.0.0.1:8082"
	DefaultDatabaseURL     = "postgres://inventory_service:inventory_service@127.0.0.1:5432/inventory?sslmode=disable"
	DefaultKafkaBrokers    = "127.0.0.1:9092"
	DefaultKafkaGroup      = "inventory-service"
	DefaultHTTPBodyLimit   = "64K"
	DefaultShutdownTimeout = 10 * time.Second
	DefaultDatabaseWait    = 30 * time.Second
)

// Config is everything Start needs.
type Config struct {
	// HTTPAddr is the listen address; port 0 picks a free one (see Addr).
	HTTPAddr string
	// DatabaseURL is the service's own PostgreSQL database.
	DatabaseURL string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// Group is the consumer group reading outbox.event.order.
	Group string
	// OutboxDeleteAfterInsert keeps the outbox table empty; the WAL still
	// carries every event. Tests turn it off to read the rows.
	OutboxDeleteAfterInsert bool
	// LogLevel is the level main builds its logger with.
	LogLevel slog.Level
	// HTTPBodyLimit caps request bodies (e.g. "64K").
	HTTPBodyLimit string
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// DatabaseWait is how long start-up waits for the database to answer.
	DatabaseWait time.Duration
	// KafkaClientOpts are extra franz-go options for the consumer (tests
	// shorten group timings with them); not read from the environment.
	KafkaClientOpts []kgo.Opt
}

// ConfigFromEnv reads the configuration through getenv, filling defaults
// for unset variables. The error names every bad variable.
//
//	HTTP_ADDR                   default 127.0.0.1:8082
//	DATABASE_URL                default postgres://inventory_service:inventory_service@127.0.0.1:5432/inventory?sslmode=disable
//	KAFKA_BROKERS               comma separated, default 127.0.0.1:9092
//	KAFKA_GROUP                 default inventory-service
//	OUTBOX_DELETE_AFTER_INSERT  default true
//	LOG_LEVEL                   debug, info, warn or error; default info
//	HTTP_BODY_LIMIT             default 64K
//	SHUTDOWN_TIMEOUT            Go duration, default 10s
//	DATABASE_WAIT               Go duration, default 30s
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	bad := func(name, value string, err error) {
		if value == "" {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		errs = append(errs, fmt.Errorf("%s=%q: %w", name, value, err))
	}
	cfg := Config{
		HTTPAddr:      get("HTTP_ADDR", DefaultHTTPAddr),
		DatabaseURL:   get("DATABASE_URL", DefaultDatabaseURL),
		Group:         get("KAFKA_GROUP", DefaultKafkaGroup),
		HTTPBodyLimit: get("HTTP_BODY_LIMIT", DefaultHTTPBodyLimit),
	}
	if _, _, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		bad("HTTP_ADDR", cfg.HTTPAddr, err)
	}
	if u, err := url.Parse(cfg.DatabaseURL); err != nil {
		// The value is not echoed: it may hold a password.
		bad("DATABASE_URL", "", errors.New("not a URL"))
	} else if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		bad("DATABASE_URL", u.Redacted(), errors.New("scheme must be postgres:// or postgresql://"))
	}
	brokers := get("KAFKA_BROKERS", DefaultKafkaBrokers)
	for b := range strings.SplitSeq(brokers, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("KAFKA_BROKERS", brokers, err)
			continue
		}
		cfg.Brokers = append(cfg.Brokers, b)
	}
	if len(cfg.Brokers) == 0 {
		bad("KAFKA_BROKERS", brokers, errors.New("no broker address"))
	}
	del := get("OUTBOX_DELETE_AFTER_INSERT", "true")
	if v, err := strconv.ParseBool(del); err != nil {
		bad("OUTBOX_DELETE_AFTER_INSERT", del, errors.New("must be true or false"))
	} else {
		cfg.OutboxDeleteAfterInsert = v
	}
	level := get("LOG_LEVEL", "info")
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		bad("LOG_LEVEL", level, errors.New("must be debug, info, warn or error"))
	}
	if n, err := bytes.Parse(cfg.HTTPBodyLimit); err != nil || n <= 0 {
		bad("HTTP_BODY_LIMIT", cfg.HTTPBodyLimit, errors.New("must be a positive size such as 64K or 1M"))
	}
	cfg.ShutdownTimeout = duration(get, "SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, bad)
	cfg.DatabaseWait = duration(get, "DATABASE_WAIT", DefaultDatabaseWait, bad)
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("inventory config: %w", err)
	}
	return cfg, nil
}

func duration(get func(string, string) string, name string, def time.Duration, bad func(string, string, error)) time.Duration {
	s := get(name, "")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		bad(name, s, errors.New("must be a positive duration such as 10s"))
		return def
	}
	return d
}
