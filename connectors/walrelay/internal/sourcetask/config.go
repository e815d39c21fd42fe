package sourcetask

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/configdef"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javaregex"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// ConnectorClass is the Kafka Connect class name the relay implements.
const ConnectorClass = "io.debezium.connector.postgresql.PostgresConnector"

// ConnectorClassAlias is the short alias Kafka Connect also accepts.
const ConnectorClassAlias = "PostgresConnector"

// Snapshot modes.
const (
	SnapshotInitial = "initial"
	SnapshotNoData  = "no_data"
)

// Config is a parsed connector configuration (the PostgreSQL and delivery
// part; the routing part belongs to eventrouter).
type Config struct {
	Name string
	// Props is the whole configuration as given, for eventrouter.New.
	Props map[string]string

	DB DBConfig

	SlotName        string
	PublicationName string
	PublicationMode replication.PublicationMode
	Filter          TableFilter
	SnapshotMode    string

	HeartbeatInterval    time.Duration
	HeartbeatActionQuery string

	// Skipped are the operations not captured (skipped.operations);
	// SkippedExplicit is true when the key was set, which also makes the
	// publication publish only the other operations.
	Skipped         map[eventrouter.Op]bool
	SkippedExplicit bool

	SlotDropOnStop bool
	StatusInterval time.Duration
	// MaxRetries is errors.max.retries: -1 retries retriable errors forever.
	MaxRetries int
	// RetryWait is retriable.restart.connector.wait.ms, the longest pause
	// between reconnect attempts.
	RetryWait time.Duration
	// UnavailablePlaceholder stands in for an unchanged TOASTed value the
	// stream does not carry (unavailable.value.placeholder).
	UnavailablePlaceholder string
	// Linger is how long the producer waits for more records before it
	// sends a batch (producer.override.linger.ms; the Java producer's
	// default, 5 ms, when absent).
	Linger time.Duration
}

// DBConfig says how to reach the database.
type DBConfig struct {
	Host, User, Password, DBName string
	Port                         int
	SSLMode, SSLRootCert         string
	SSLCert, SSLKey, SSLPassword string
}

// ConnString returns a pgx/pgconn connection string for the database.
func (d DBConfig) ConnString() string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(d.User, d.Password),
		Host:   d.Host + ":" + strconv.Itoa(d.Port),
		Path:   "/" + d.DBName,
	}
	if strings.Contains(d.Host, ":") { // IPv6 literal
		u.Host = "[" + d.Host + "]:" + strconv.Itoa(d.Port)
	}
	q := url.Values{}
	q.Set("sslmode", d.SSLMode)
	q.Set("connect_timeout", "30")
	for k, v := range map[string]string{"sslrootcert": d.SSLRootCert, "sslcert": d.SSLCert, "sslkey": d.SSLKey, "sslpassword": d.SSLPassword} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// implemented are the connector keys this package reads.
var implemented = map[string]bool{
	"name": true, "connector.class": true, "tasks.max": true,
	"database.hostname": true, "database.port": true, "database.user": true, "database.password": true,
	"database.dbname": true, "database.sslmode": true, "database.sslrootcert": true, "database.sslcert": true,
	"database.sslkey": true, "database.sslpassword": true,
	"plugin.name": true, "slot.name": true, "publication.name": true, "publication.autocreate.mode": true,
	"table.include.list": true, "table.exclude.list": true, "schema.include.list": true, "schema.exclude.list": true,
	"snapshot.mode": true, "heartbeat.interval.ms": true, "heartbeat.action.query": true,
	"skipped.operations": true, "slot.drop.on.stop": true, "status.update.interval.ms": true,
	"errors.max.retries": true, "retriable.restart.connector.wait.ms": true, "unavailable.value.placeholder": true,
	// The one producer setting a connector may override: Kafka Connect
	// passes producer.override.* to the task's producer (its default
	// override policy, All, allows it).
	lingerKey: true,
}

// lingerKey overrides the producer's linger.ms for one connector.
const lingerKey = "producer.override.linger.ms"

// defaultLinger is the Java producer's linger.ms since Kafka 4.0.
const defaultLinger = 5 * time.Millisecond

// ignored are keys accepted without effect: they tune Debezium's internals
// or Kafka Connect's bookkeeping and change no record.
var ignored = map[string]bool{
	"tombstones.on.delete": true, // deletes never reach Kafka through the outbox router
	"snapshot.fetch.size":  true, "snapshot.delay.ms": true, "snapshot.max.threads": true,
	"snapshot.lock.timeout.ms": true, "snapshot.locking.mode": true, "snapshot.isolation.mode": true,
	"max.batch.size": true, "max.queue.size": true, "max.queue.size.in.bytes": true, "poll.interval.ms": true,
	"query.fetch.size": true, "slot.max.retries": true, "slot.retry.delay.ms": true,
	"database.server.name": true, "database.tcpKeepAlive": true, "table.ignore.builtin": true,
	"errors.log.enable": true, "errors.log.include.messages": true, "errors.retry.timeout": true,
	"errors.retry.delay.max.ms": true, "config.action.reload": true,
	"lsn.flush.timeout.ms": true, "lsn.flush.timeout.action": true,
	"database.connectionTimeZone": true, "connect.timeout.ms": true,
}

// ignoredPrefixes are key families accepted without effect.
var ignoredPrefixes = []string{
	"topic.creation.", // topics are created by the broker's auto-creation
}

// restricted are keys accepted only with the values the relay behaves
// like (the first is the default).
var restricted = map[string][]string{
	"binary.handling.mode":                   {"bytes"},
	"time.precision.mode":                    {"adaptive", "adaptive_time_microseconds"},
	"decimal.handling.mode":                  {"precise"},
	"interval.handling.mode":                 {"numeric"},
	"hstore.handling.mode":                   {"json"},
	"provide.transaction.metadata":           {"false"},
	"include.unknown.datatypes":              {"false"},
	"slot.failover":                          {"false"},
	"errors.tolerance":                       {"none"},
	"exactly.once.support":                   {"requested"},
	"transaction.boundary":                   {"poll"},
	"offset.mismatch.strategy":               {"no_validation"},
	"lsn.flush.mode":                         {"connector", "connector_and_driver"},
	"flush.lsn.source":                       {"true"},
	"event.processing.failure.handling.mode": {"fail"},
}

var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// Accepts reports whether the source task implements or knowingly ignores key
// (keys owned by eventrouter are not included).
func Accepts(key string) bool {
	if implemented[key] || ignored[key] {
		return true
	}
	if _, ok := restricted[key]; ok {
		return true
	}
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// ParseConfig parses and checks the connector configuration without
// touching the database. It reports every problem it finds; keys owned by
// eventrouter are left to eventrouter.New.
func ParseConfig(props map[string]string) (Config, []eventrouter.ConfigError) {
	p := &parser{props: props}
	c := Config{Props: props, Name: props["name"]}

	switch cls := strings.TrimSpace(props["connector.class"]); cls {
	case ConnectorClass, ConnectorClassAlias:
	case "":
		p.errorf("connector.class", "A value is required")
	default:
		p.errorf("connector.class", "walrelay implements only %s, not %s", ConnectorClass, cls)
	}
	if v := p.integer("tasks.max", 1); v < 1 {
		p.errorf("tasks.max", "Value must be at least 1")
	}

	c.DB.Host = p.required("database.hostname")
	c.DB.Port = p.integer("database.port", 5432)
	if c.DB.Port < 1 || c.DB.Port > 65535 {
		p.errorf("database.port", "Value must be a port number")
	}
	c.DB.User = p.required("database.user")
	c.DB.Password = props["database.password"]
	c.DB.DBName = p.required("database.dbname")
	c.DB.SSLMode = p.oneOf("database.sslmode", "prefer", "disable", "allow", "prefer", "require", "verify-ca", "verify-full")
	c.DB.SSLRootCert = props["database.sslrootcert"]
	c.DB.SSLCert = props["database.sslcert"]
	c.DB.SSLKey = props["database.sslkey"]
	c.DB.SSLPassword = props["database.sslpassword"]

	switch plugin := strings.TrimSpace(props["plugin.name"]); plugin {
	case "pgoutput":
	case "":
		p.errorf("plugin.name", "walrelay streams with pgoutput only and Debezium's default is decoderbufs: set plugin.name=pgoutput")
	default:
		p.errorf("plugin.name", "walrelay streams with pgoutput only, not %s", plugin)
	}

	c.SlotName = p.str("slot.name", "debezium")
	if !slotNameRE.MatchString(c.SlotName) {
		p.errorf("slot.name", "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63")
	}
	// An unquoted identifier, as Debezium writes it into its SQL.
	c.PublicationName = strings.ToLower(p.str("publication.name", "dbz_publication"))
	c.PublicationMode = replication.PublicationMode(p.oneOf("publication.autocreate.mode", "all_tables", "all_tables", "disabled", "filtered", "no_tables"))

	c.Filter = p.filter()

	switch mode := p.str("snapshot.mode", SnapshotInitial); mode {
	case SnapshotInitial, SnapshotNoData:
		c.SnapshotMode = mode
	case "never":
		p.errorf("snapshot.mode", "Value 'never' is not valid: it was removed in Debezium 3.3; use no_data")
	case "always", "initial_only", "when_needed", "configuration_based", "custom", "recovery":
		p.errorf("snapshot.mode", "walrelay implements snapshot.mode initial and no_data, not %s", mode)
	default:
		p.errorf("snapshot.mode", "Value must be one of always, initial, initial_only, no_data, when_needed, configuration_based, custom")
	}

	c.HeartbeatInterval = p.millis("heartbeat.interval.ms", 0)
	c.HeartbeatActionQuery = strings.TrimSpace(props["heartbeat.action.query"])

	c.Skipped, c.SkippedExplicit = p.skipped()
	c.SlotDropOnStop = p.boolean("slot.drop.on.stop", false)
	c.StatusInterval = p.millis("status.update.interval.ms", 10*time.Second)
	if c.StatusInterval <= 0 {
		c.StatusInterval = 10 * time.Second
	}
	c.MaxRetries = p.integer("errors.max.retries", -1)
	c.RetryWait = p.millis("retriable.restart.connector.wait.ms", 10*time.Second)
	c.UnavailablePlaceholder = p.str("unavailable.value.placeholder", "__debezium_unavailable_value")
	c.Linger = p.millis(lingerKey, defaultLinger)

	for key, allowed := range restricted {
		v, ok := props[key]
		if !ok {
			continue
		}
		if len(allowed) == 1 && (allowed[0] == "true" || allowed[0] == "false") {
			// A BOOLEAN key: parsed like any other, then held to the one value.
			b, err := configdef.ParseBool(key, v)
			if err != nil {
				p.errorf(key, "%v", err)
			} else if strconv.FormatBool(b) != allowed[0] {
				p.errorf(key, "walrelay behaves as %s=%s only, not %s", key, allowed[0], v)
			}
			continue
		}
		if !containsFold(allowed, strings.TrimSpace(v)) {
			p.errorf(key, "walrelay behaves as %s=%s only, not %s", key, strings.Join(allowed, " or "), v)
		}
	}
	for key := range props {
		if Accepts(key) || eventrouter.Owns(key) {
			continue
		}
		p.errorf(key, "walrelay does not implement this option; remove it (Debezium would honour it, so ignoring it could change the records)")
	}
	return c, p.errs
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

type parser struct {
	props map[string]string
	errs  []eventrouter.ConfigError
}

func (p *parser) errorf(key, format string, args ...any) {
	p.errs = append(p.errs, eventrouter.ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) str(key, def string) string {
	if v, ok := p.props[key]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) required(key string) string {
	v := strings.TrimSpace(p.props[key])
	if v == "" {
		p.errorf(key, "A value is required")
	}
	return v
}

func (p *parser) integer(key string, def int) int {
	v, ok := p.props[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		p.errorf(key, "Invalid value %s for configuration %s: Not a number of type INT", v, key)
		return def
	}
	return n
}

func (p *parser) millis(key string, def time.Duration) time.Duration {
	v, ok := p.props[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		p.errorf(key, "Invalid value %s for configuration %s: must be a non-negative number of milliseconds", v, key)
		return def
	}
	return time.Duration(n) * time.Millisecond
}

// boolean reads a BOOLEAN key as Kafka's ConfigDef does (see configdef.ParseBool): a key that is present is
// parsed, a blank value included.
func (p *parser) boolean(key string, def bool) bool {
	b, err := configdef.Bool(p.props, key, def)
	if err != nil {
		p.errorf(key, "%v", err)
	}
	return b
}

func (p *parser) oneOf(key, def string, allowed ...string) string {
	v := p.str(key, def)
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	p.errorf(key, "Value must be one of %s", strings.Join(allowed, ", "))
	return def
}

func (p *parser) filter() TableFilter {
	var f TableFilter
	lists := []struct {
		key, other string
		dst        *[]*javaregex.Regexp
	}{
		{"schema.include.list", "", &f.schemaInclude},
		{"schema.exclude.list", "schema.include.list", &f.schemaExclude},
		{"table.include.list", "", &f.tableInclude},
		{"table.exclude.list", "table.include.list", &f.tableExclude},
	}
	for _, l := range lists {
		v := strings.TrimSpace(p.props[l.key])
		if v == "" {
			continue
		}
		if l.other != "" && strings.TrimSpace(p.props[l.other]) != "" {
			p.errorf(l.key, "\"%s\" is already specified", l.other)
			continue
		}
		res, err := compileList(v)
		if err != nil {
			p.errorf(l.key, "%v", err)
			continue
		}
		*l.dst = res
	}
	return f
}

func (p *parser) skipped() (map[eventrouter.Op]bool, bool) {
	v, explicit := p.props["skipped.operations"]
	if !explicit || strings.TrimSpace(v) == "" {
		return map[eventrouter.Op]bool{eventrouter.OpTruncate: true}, false
	}
	out := map[eventrouter.Op]bool{}
	for _, part := range strings.Split(v, ",") {
		switch s := strings.ToLower(strings.TrimSpace(part)); s {
		case "none":
		case "c", "u", "d", "t":
			out[eventrouter.Op(s[0])] = true
		case "r":
			p.errorf("skipped.operations", "The 'r' operation cannot be skipped")
		default:
			p.errorf("skipped.operations", "Invalid operation %q; use c, u, d, t or none", s)
		}
	}
	return out, true
}

// Publish returns the publication's publish parameter for an explicit
// skipped.operations (Debezium 3.6+ behaviour), or "" for the default.
func (c Config) Publish() string {
	if !c.SkippedExplicit {
		return ""
	}
	var ops []string
	for _, o := range []struct {
		op   eventrouter.Op
		name string
	}{{eventrouter.OpCreate, "insert"}, {eventrouter.OpUpdate, "update"}, {eventrouter.OpDelete, "delete"}, {eventrouter.OpTruncate, "truncate"}} {
		if !c.Skipped[o.op] {
			ops = append(ops, o.name)
		}
	}
	if len(ops) == 4 {
		return ""
	}
	if len(ops) == 0 {
		// Nothing published at all still needs a valid parameter value.
		return "insert"
	}
	return strings.Join(ops, ", ")
}
