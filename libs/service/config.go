package service

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/envconfig"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/program"
)

// Defaults shared by every service; each service sets its own HTTP
// address, database and consumer group (see Defaults).
const (
	DefaultKafkaBrokers    = "127.0.0.1:9092"
	DefaultHTTPBodyLimit   = "64K"
	DefaultShutdownTimeout = 10 * time.Second
	DefaultDatabaseWait    = 30 * time.Second
	DefaultRetention       = 7 * 24 * time.Hour
	DefaultConsumerConns   = 8
)

// Config is what a service binary is configured with.
type Config struct {
	// HTTPAddr is the listen address; port 0 picks a free one (see Addr).
	HTTPAddr string
	// DatabaseURL is a postgres:// URL of the service's own database.
	DatabaseURL string
	// Brokers are the Kafka bootstrap addresses.
	Brokers []string
	// Group is the Kafka consumer group.
	Group string
	// InstanceID makes the consumer a static group member
	// (consumer.Config.InstanceID); empty means dynamic membership.
	InstanceID string
	// OutboxDeleteAfterInsert keeps the outbox table empty (the WAL still
	// carries every insert). Tests turn it off to read the rows.
	OutboxDeleteAfterInsert bool
	// OutboxRequireCapture refuses to write events while no logical
	// replication slot exists in the database (outbox.RequireCapture), and
	// keeps GET /readyz at 503 until one does: an event written before the
	// connector's slot exists would never be published.
	OutboxRequireCapture bool
	// LogLevel is the minimum level the command logs at.
	LogLevel slog.Level
	// LogFormat is program.LogJSON, program.LogText, or "" for text on a
	// terminal and JSON otherwise.
	LogFormat string
	// Tracing records the service's spans (HTTP requests, consumed
	// records, business transactions); nil records none. Not read from
	// the environment by ConfigFromEnv: Command sets it from the OTEL_*
	// variables (package tracing).
	Tracing trace.TracerProvider
	// HTTPBodyLimit caps request bodies, in echo notation ("64K"; default
	// DefaultHTTPBodyLimit).
	HTTPBodyLimit string
	// ShutdownTimeout bounds the graceful shutdown (default
	// DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// DatabaseWait is how long Open waits for the database to answer
	// (default DefaultDatabaseWait).
	DatabaseWait time.Duration
	// DatabaseConns sizes the pool Open returns, which HTTP requests use
	// (0: pgx's default, the larger of 4 and the number of CPUs).
	DatabaseConns int
	// ConsumerConns sizes the consumer's own pool (OpenConsumerPool;
	// default DefaultConsumerConns): one connection per partition it
	// handles at once is enough.
	ConsumerConns int
	// ConsumerBatch is the consumer's BatchSize (0: its default).
	ConsumerBatch int
	// MaxBacklog bounds the work a service that accepts work over HTTP
	// (the order service: orders still PENDING) lets pile up: past it, new
	// work is refused with 503 and Retry-After until the backlog shrinks.
	// 0 means no bound.
	MaxBacklog int
	// HTTPTimeouts bound each HTTP connection (zero fields take
	// httpserver's defaults).
	HTTPTimeouts httpserver.Timeouts
	// Retention is how long the service keeps the rows that make
	// duplicates harmless: the consumer's inbox rows (and a service's own
	// idempotency records). Zero takes DefaultRetention.
	Retention time.Duration
	// Profiles serves the Go runtime's profiles under /debug/pprof/ on the
	// HTTP port (httpserver.ServeProfiles); off by default.
	Profiles bool
	// KafkaClientOpts are extra franz-go options for the consumer (tests
	// shorten group timings with them); not read from the environment.
	KafkaClientOpts []kgo.Opt
}

// Defaults are the settings that differ between services.
type Defaults struct {
	HTTPAddr    string // HTTP_ADDR
	DatabaseURL string // DATABASE_URL
	Group       string // KAFKA_GROUP
	MaxBacklog  int    // MAX_BACKLOG
}

// ConfigFromEnv reads the configuration through getenv, filling defaults
// for unset variables. The error, prefixed with "<name> config: ", names
// every bad variable (see package envconfig) and never shows the
// database password.
//
//	HTTP_ADDR                   host:port, default d.HTTPAddr
//	DATABASE_URL                postgres:// or postgresql:// URL, default d.DatabaseURL;
//	                            the service's connections run with enable_seqscan off
//	                            and plan_cache_mode force_generic_plan, each unless it
//	                            sets it (package pgdb)
//	KAFKA_BROKERS               comma separated host:port, default 127.0.0.1:9092
//	KAFKA_GROUP                 default d.Group
//	KAFKA_INSTANCE_ID           default none: static group membership, so a
//	                            restarted replica resumes its partitions at
//	                            once; stable per replica, unique in the group
//	OUTBOX_DELETE_AFTER_INSERT  default true
//	OUTBOX_REQUIRE_CAPTURE      default true: no event is written, and the
//	                            service is not ready, until a replication
//	                            slot exists in its database
//	LOG_LEVEL                   debug, info, warn or error; default info
//	LOG_FORMAT                  json or text; default text on a terminal,
//	                            JSON otherwise (a pipe, a file, a container)
//	HTTP_BODY_LIMIT             default 64K
//	SHUTDOWN_TIMEOUT            Go duration, default 10s
//	DATABASE_WAIT               Go duration, default 30s
//	DATABASE_CONNS              default max(4, CPUs): the pool HTTP requests use
//	DATABASE_CONSUMER_CONNS     default 8: the consumer's own pool, apart
//	                            from the one HTTP requests use
//	CONSUMER_BATCH_SIZE         default 16: records of one partition that
//	                            queued up applied in one transaction
//	                            (consumer.Config.BatchSize); 1 for one each
//	HTTP_READ_HEADER_TIMEOUT    Go duration, default 5s
//	HTTP_READ_TIMEOUT           Go duration, default 30s
//	HTTP_WRITE_TIMEOUT          Go duration, default 30s
//	HTTP_IDLE_TIMEOUT           Go duration, default 2m
//	RETENTION                   Go duration, default 168h (7 days): how long
//	                            inbox rows and idempotency keys are kept
//	PPROF                       default false: serve Go profiles under
//	                            /debug/pprof/ (unauthenticated)
//	MAX_BACKLOG                 default d.MaxBacklog: unfinished work (the
//	                            order service: PENDING orders) past which
//	                            new work is refused with 503; 0 for no bound
func ConfigFromEnv(getenv func(string) string, name string, d Defaults) (Config, error) {
	r := envconfig.New(getenv)
	cfg := Config{
		HTTPAddr:                r.HostPort("HTTP_ADDR", d.HTTPAddr),
		DatabaseURL:             r.PostgresURL("DATABASE_URL", d.DatabaseURL),
		Brokers:                 r.HostPorts("KAFKA_BROKERS", DefaultKafkaBrokers),
		Group:                   r.String("KAFKA_GROUP", d.Group),
		InstanceID:              r.String("KAFKA_INSTANCE_ID", ""),
		OutboxDeleteAfterInsert: r.Bool("OUTBOX_DELETE_AFTER_INSERT", true),
		OutboxRequireCapture:    r.Bool("OUTBOX_REQUIRE_CAPTURE", true),
		LogLevel:                r.LogLevel("LOG_LEVEL", slog.LevelInfo),
		LogFormat:               r.OneOf("LOG_FORMAT", "", program.LogJSON, program.LogText),
		HTTPBodyLimit:           r.ByteSize("HTTP_BODY_LIMIT", DefaultHTTPBodyLimit),
		ShutdownTimeout:         r.Duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout),
		DatabaseWait:            r.Duration("DATABASE_WAIT", DefaultDatabaseWait),
		DatabaseConns:           r.PositiveInt("DATABASE_CONNS", 0),
		ConsumerConns:           r.PositiveInt("DATABASE_CONSUMER_CONNS", DefaultConsumerConns),
		ConsumerBatch:           r.PositiveInt("CONSUMER_BATCH_SIZE", consumer.DefaultBatchSize),
		Retention:               r.Duration("RETENTION", DefaultRetention),
		Profiles:                r.Bool("PPROF", false),
		MaxBacklog:              r.NaturalInt("MAX_BACKLOG", d.MaxBacklog),
		HTTPTimeouts: httpserver.Timeouts{
			ReadHeader: r.Duration("HTTP_READ_HEADER_TIMEOUT", httpserver.DefaultReadHeaderTimeout),
			Read:       r.Duration("HTTP_READ_TIMEOUT", httpserver.DefaultReadTimeout),
			Write:      r.Duration("HTTP_WRITE_TIMEOUT", httpserver.DefaultWriteTimeout),
			Idle:       r.Duration("HTTP_IDLE_TIMEOUT", httpserver.DefaultIdleTimeout),
		},
	}
	if err := r.Err(); err != nil {
		return Config{}, fmt.Errorf("%s config: %w", name, err)
	}
	return cfg, nil
}

// WithDefaults returns c with its zero (or negative) durations, body limit
// and retention set to their defaults, as Open, HTTP and Serve use them.
func (c Config) WithDefaults() Config {
	if c.HTTPBodyLimit == "" {
		c.HTTPBodyLimit = DefaultHTTPBodyLimit
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.DatabaseWait <= 0 {
		c.DatabaseWait = DefaultDatabaseWait
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.ConsumerConns <= 0 {
		c.ConsumerConns = DefaultConsumerConns
	}
	return c
}
