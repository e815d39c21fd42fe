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

// Defaults for Config fields left empty by the environment.
const (
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultDatabaseURL     = "postgres://order_service:order_service@127.0.0.1:5432/orders?sslmode=disable"
	DefaultKafkaBrokers    = "127.0.0.1:9092"
	DefaultKafkaGroup      = "order-service"
	DefaultHTTPBodyLimit   = "64K"
	DefaultShutdownTimeout = 10 * time.Second
	DefaultDatabaseWait    = 30 * time.Second
)

// Config is the order service's configuration.
type Config struct {
	// HTTPAddr is the listen address; port 0 picks a free port (see Addr).
	HTTPAddr string
	// DatabaseURL is a postgres:// URL of the service's own database.
	DatabaseURL string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// Group is the Kafka consumer group.
	Group string
	// OutboxDeleteAfterInsert keeps the outbox table empty (the WAL still
	// carries every insert). Tests turn it off to read the rows.
	OutboxDeleteAfterInsert bool
	// LogLevel is the minimum level the command logs at.
	LogLevel slog.Level
	// HTTPBodyLimit caps request bodies, in echo notation ("64K").
	HTTPBodyLimit string
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration
	// DatabaseWait is how long Start waits for the database to answer.
	DatabaseWait time.Duration
	// KafkaClientOpts are extra franz-go options for the consumer (tests use
	// them for short session timeouts).
	KafkaClientOpts []kgo.Opt
}

// ConfigFromEnv reads the configuration through getenv, applying defaults
// for unset variables. The error names every variable that is invalid.
//
//	HTTP_ADDR                   default 127.0.0.1:8080
//	DATABASE_URL                default postgres://order_service:order_service@127.0.0.1:5432/orders?sslmode=disable
//	KAFKA_BROKERS               comma separated, default 127.0.0.1:9092
//	KAFKA_GROUP                 default order-service
//	OUTBOX_DELETE_AFTER_INSERT  default true
//	LOG_LEVEL                   debug, info, warn or error; default info
//	HTTP_BODY_LIMIT             default 64K
//	SHUTDOWN_TIMEOUT            Go duration, default 10s
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	bad := func(name, value string, err error) {
		errs = append(errs, fmt.Errorf("config: %s=%q: %w", name, value, err))
	}
	cfg := Config{
		HTTPAddr:      get("HTTP_ADDR", DefaultHTTPAddr),
		DatabaseURL:   get("DATABASE_URL", DefaultDatabaseURL),
		Group:         get("KAFKA_GROUP", DefaultKafkaGroup),
		HTTPBodyLimit: get("HTTP_BODY_LIMIT", DefaultHTTPBodyLimit),
		DatabaseWait:  DefaultDatabaseWait,
	}
	if _, _, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		bad("HTTP_ADDR", cfg.HTTPAddr, err)
	}
	if err := checkDatabaseURL(cfg.DatabaseURL); err != nil {
		bad("DATABASE_URL", redact(cfg.DatabaseURL), err)
	}
	brokers := get("KAFKA_BROKERS", DefaultKafkaBrokers)
	for b := range strings.SplitSeq(brokers, ",") {
		b = strings.TrimSpace(b)
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad("KAFKA_BROKERS", brokers, fmt.Errorf("broker %q: %w", b, err))
			continue
		}
		cfg.Brokers = append(cfg.Brokers, b)
	}
	v := get("OUTBOX_DELETE_AFTER_INSERT", "true")
	del, err := strconv.ParseBool(v)
	if err != nil {
		bad("OUTBOX_DELETE_AFTER_INSERT", v, errors.New("must be true or false"))
	}
	cfg.OutboxDeleteAfterInsert = del
	v = get("LOG_LEVEL", "info")
	if err := cfg.LogLevel.UnmarshalText([]byte(v)); err != nil {
		bad("LOG_LEVEL", v, errors.New("must be debug, info, warn or error"))
	}
	if n, err := bytes.Parse(cfg.HTTPBodyLimit); err != nil || n <= 0 {
		bad("HTTP_BODY_LIMIT", cfg.HTTPBodyLimit, errors.New("must be a positive size such as 64K or 1M"))
	}
	v = get("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout.String())
	if cfg.ShutdownTimeout, err = time.ParseDuration(v); err != nil || cfg.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", v, errors.New("must be a positive duration such as 10s"))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("must be a postgres:// URL")
	}
	return nil
}

// redact hides the password of a database URL for logs and errors.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User == nil {
		return dsn
	}
	return u.Redacted()
}
