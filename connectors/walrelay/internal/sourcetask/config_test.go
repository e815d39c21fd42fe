package sourcetask

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

func baseProps() map[string]string {
	return map[string]string{
		"name":                        "outbox",
		"connector.class":             ConnectorClass,
		"database.hostname":           "db",
		"database.user":               "cdc",
		"database.password":           "secret",
		"database.dbname":             "app",
		"topic.prefix":                "app",
		"plugin.name":                 "pgoutput",
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.outbox`,
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestParseConfigDefaults(t *testing.T) {
	c, errs := ParseConfig(baseProps())
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := DBConfig{Host: "db", Port: 5432, User: "cdc", Password: "secret", DBName: "app", SSLMode: "prefer"}
	if c.DB != want {
		t.Fatalf("DB = %+v, want %+v", c.DB, want)
	}
	if c.SlotName != "debezium" || c.PublicationName != "dbz_publication" || c.PublicationMode != replication.PublicationFiltered ||
		c.SnapshotMode != SnapshotInitial || c.HeartbeatInterval != 0 || c.StatusInterval != 10*time.Second ||
		c.MaxRetries != -1 || c.RetryWait != 10*time.Second || c.UnavailablePlaceholder != "__debezium_unavailable_value" ||
		c.Linger != 5*time.Millisecond {
		t.Fatalf("defaults: %+v", c)
	}
	if !reflect.DeepEqual(c.Skipped, map[eventrouter.Op]bool{eventrouter.OpTruncate: true}) || c.SkippedExplicit || c.Publish() != "" {
		t.Fatalf("skipped defaults: %v %v %q", c.Skipped, c.SkippedExplicit, c.Publish())
	}
	if !c.Filter.Match("public", "outbox") || c.Filter.Match("public", "outbox2") || c.Filter.Match("other", "outbox") {
		t.Fatal("table.include.list not applied as a full, schema-qualified match")
	}
	if got := c.DB.ConnString(); got != "postgres://cdc:secret@db:5432/app?connect_timeout=30&sslmode=prefer" {
		t.Fatalf("ConnString = %s", got)
	}
}

func TestParseConfigValues(t *testing.T) {
	c, errs := ParseConfig(with(baseProps(),
		"database.port", " 5433 ",
		"slot.name", "app_outbox",
		"publication.name", "App_Outbox",
		"snapshot.mode", "no_data",
		"heartbeat.interval.ms", "1500",
		"heartbeat.action.query", " SELECT 1 ",
		"skipped.operations", "u, d",
		"slot.drop.on.stop", "TRUE",
		"status.update.interval.ms", "500",
		"errors.max.retries", "3",
		"retriable.restart.connector.wait.ms", "2000",
		"database.sslmode", "require",
		"tasks.max", "2",
		"connector.class", ConnectorClassAlias,
		"tombstones.on.delete", "false",
		"topic.creation.default.partitions", "-1",
		"binary.handling.mode", "bytes",
		"lsn.flush.mode", "connector_and_driver",
		"provide.transaction.metadata", " FALSE ",
		"producer.override.linger.ms", " 1 ",
	))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if c.DB.Port != 5433 || c.SlotName != "app_outbox" || c.PublicationName != "app_outbox" || c.SnapshotMode != SnapshotNoData ||
		c.HeartbeatInterval != 1500*time.Millisecond || c.HeartbeatActionQuery != "SELECT 1" || !c.SlotDropOnStop ||
		c.StatusInterval != 500*time.Millisecond || c.MaxRetries != 3 || c.RetryWait != 2*time.Second || c.DB.SSLMode != "require" ||
		c.Linger != time.Millisecond {
		t.Fatalf("parsed: %+v", c)
	}
	if !c.Skipped[eventrouter.OpUpdate] || !c.Skipped[eventrouter.OpDelete] || c.Skipped[eventrouter.OpTruncate] || !c.SkippedExplicit {
		t.Fatalf("skipped: %v", c.Skipped)
	}
	if got := c.Publish(); got != "insert, truncate" {
		t.Fatalf("Publish = %q", got)
	}
	if c0, _ := ParseConfig(with(baseProps(), "producer.override.linger.ms", "0")); c0.Linger != 0 {
		t.Fatalf("producer.override.linger.ms=0: Linger = %v", c0.Linger)
	}
	c2, _ := ParseConfig(with(baseProps(), "skipped.operations", "none"))
	if len(c2.Skipped) != 0 || c2.Publish() != "" {
		t.Fatalf("skipped.operations=none: %v %q", c2.Skipped, c2.Publish())
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		props   map[string]string
		wantKey string
		wantMsg string
	}{
		{"missing class", with(baseProps(), "connector.class", "<delete>"), "connector.class", "required"},
		{"other class", with(baseProps(), "connector.class", "io.debezium.connector.mysql.MySqlConnector"), "connector.class", "MySqlConnector"},
		{"no hostname", with(baseProps(), "database.hostname", ""), "database.hostname", "A value is required"},
		{"bad port", with(baseProps(), "database.port", "x"), "database.port", "Not a number"},
		{"port out of range", with(baseProps(), "database.port", "70000"), "database.port", "port number"},
		{"tasks.max zero", with(baseProps(), "tasks.max", "0"), "tasks.max", "at least 1"},
		{"default plugin", with(baseProps(), "plugin.name", "<delete>"), "plugin.name", "pgoutput"},
		{"decoderbufs", with(baseProps(), "plugin.name", "decoderbufs"), "plugin.name", "decoderbufs"},
		{"bad slot name", with(baseProps(), "slot.name", "Bad-Slot"), "slot.name", "lowercase"},
		{"bad publication mode", with(baseProps(), "publication.autocreate.mode", "some"), "publication.autocreate.mode", "one of"},
		{"snapshot never", with(baseProps(), "snapshot.mode", "never"), "snapshot.mode", "no_data"},
		{"snapshot always", with(baseProps(), "snapshot.mode", "always"), "snapshot.mode", "initial and no_data"},
		{"heartbeat negative", with(baseProps(), "heartbeat.interval.ms", "-1"), "heartbeat.interval.ms", "non-negative"},
		{"linger negative", with(baseProps(), "producer.override.linger.ms", "-1"), "producer.override.linger.ms", "non-negative"},
		{"linger not a number", with(baseProps(), "producer.override.linger.ms", "5ms"), "producer.override.linger.ms", "non-negative"},
		{"other producer override", with(baseProps(), "producer.override.batch.size", "1"), "producer.override.batch.size", "does not implement"},
		{"bad bool", with(baseProps(), "slot.drop.on.stop", "yes"), "slot.drop.on.stop", "true or false"},
		{"empty bool", with(baseProps(), "slot.drop.on.stop", ""), "slot.drop.on.stop", "Invalid value  for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"blank bool", with(baseProps(), "slot.drop.on.stop", "  "), "slot.drop.on.stop", "Invalid value    for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"restricted bool not a bool", with(baseProps(), "slot.failover", "no"), "slot.failover", "Invalid value no for configuration slot.failover: Expected value to be either true or false"},
		{"restricted bool blank", with(baseProps(), "flush.lsn.source", ""), "flush.lsn.source", "Invalid value  for configuration flush.lsn.source: Expected value to be either true or false"},
		{"skip r", with(baseProps(), "skipped.operations", "r"), "skipped.operations", "cannot be skipped"},
		{"skip x", with(baseProps(), "skipped.operations", "c,x"), "skipped.operations", "Invalid operation"},
		{"include and exclude", with(baseProps(), "table.exclude.list", "a"), "table.exclude.list", "already specified"},
		{"java-only regex", with(baseProps(), "table.include.list", `public\.(?!x).*`), "table.include.list", "RE2"},
		{"restricted value", with(baseProps(), "binary.handling.mode", "base64"), "binary.handling.mode", "bytes"},
		{"transaction metadata", with(baseProps(), "provide.transaction.metadata", "true"), "provide.transaction.metadata", "false"},
		{"unknown key", with(baseProps(), "column.exclude.list", "public.outbox.secret"), "column.exclude.list", "does not implement"},
		{"typo", with(baseProps(), "tabel.include.list", "x"), "tabel.include.list", "does not implement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseConfig(tt.props)
			for _, e := range errs {
				if e.Key == tt.wantKey && strings.Contains(e.Message, tt.wantMsg) {
					return
				}
			}
			t.Fatalf("errors %v; want one for %s containing %q", errs, tt.wantKey, tt.wantMsg)
		})
	}

	// Every problem is reported at once.
	_, errs := ParseConfig(map[string]string{"connector.class": ConnectorClass, "bogus": "1"})
	keys := map[string]bool{}
	for _, e := range errs {
		keys[e.Key] = true
	}
	for _, k := range []string{"database.hostname", "database.user", "database.dbname", "plugin.name", "bogus"} {
		if !keys[k] {
			t.Errorf("no error for %s in %v", k, errs)
		}
	}
}

func TestRouterKeysAreLeftToTheRouter(t *testing.T) {
	_, errs := ParseConfig(with(baseProps(),
		"transforms", "outbox",
		"transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter",
		"key.converter", "org.apache.kafka.connect.storage.StringConverter",
		"value.converter.schemas.enable", "false",
		"extended.headers.enabled", "false",
		"message.prefix.exclude.list", "heartbeat",
	))
	if len(errs) != 0 {
		t.Fatalf("router keys reported by ParseConfig: %v", errs)
	}
}

func TestTableFilter(t *testing.T) {
	tests := []struct {
		props       map[string]string
		schema, tbl string
		want        bool
	}{
		{map[string]string{}, "public", "x", true},
		{map[string]string{"table.include.list": `public\.outbox,app\.events`}, "app", "events", true},
		{map[string]string{"table.include.list": `public\.outbox,app\.events`}, "app", "other", false},
		{map[string]string{"table.include.list": `PUBLIC\.OUTBOX`}, "public", "outbox", true},
		{map[string]string{"table.include.list": `public\.out.*`}, "public", "outbox_v2", true},
		{map[string]string{"table.include.list": `public\.o{1,2}utbox`}, "public", "ooutbox", true},
		{map[string]string{"table.exclude.list": `public\.audit`}, "public", "audit", false},
		{map[string]string{"table.exclude.list": `public\.audit`}, "public", "outbox", true},
		{map[string]string{"schema.include.list": "app"}, "public", "outbox", false},
		{map[string]string{"schema.include.list": "app"}, "app", "outbox", true},
		{map[string]string{"schema.exclude.list": "app"}, "app", "outbox", false},
		{map[string]string{"schema.include.list": "app", "table.include.list": `public\.outbox`}, "public", "outbox", false},
	}
	for i, tt := range tests {
		p := &parser{props: tt.props}
		f := p.filter()
		if len(p.errs) != 0 {
			t.Fatalf("%d: %v", i, p.errs)
		}
		if got := f.Match(tt.schema, tt.tbl); got != tt.want {
			t.Errorf("%d: %v Match(%s.%s) = %v, want %v", i, tt.props, tt.schema, tt.tbl, got, tt.want)
		}
	}
}

func TestSplitRegexList(t *testing.T) {
	tests := map[string][]string{
		"a,b":            {"a", "b"},
		" a , b ,":       {"a", "b"},
		`a\,b,c`:         {"a,b", "c"},
		`x{1,2},y`:       {"x{1,2}", "y"},
		`(a,b)|c,d`:      {"(a,b)|c", "d"},
		`[,]x,y`:         {"[,]x", "y"},
		`public\.outbox`: {`public\.outbox`},
		"":               nil,
	}
	for in, want := range tests {
		if got := splitRegexList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitRegexList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetriable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "55006"}, true},
		{&pgconn.PgError{Code: "28P01"}, false},
		{&pgconn.PgError{Code: "42P01"}, false},
		{fmt.Errorf("x: %w", errSlotBusy), true},
		{replication.ErrStreamEnded, true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{permanent(&pgconn.PgError{Code: "57P01"}), false},
		{errors.New("router failed"), false},
	}
	for _, tt := range tests {
		if got := retriable(tt.err); got != tt.want {
			t.Errorf("retriable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestTrace(t *testing.T) {
	if got := trace(errors.New("org.apache.kafka.connect.errors.DataException: Field 'created_at' is not of type INT64")); !strings.HasPrefix(got, "org.apache.kafka.connect.errors.DataException: ") {
		t.Errorf("a Java-style error was rewrapped: %s", got)
	}
	if got := trace(errors.New("java.lang.NullPointerException")); got != "java.lang.NullPointerException" {
		t.Errorf("trace = %s", got)
	}
	if got := trace(errors.New("connect to PostgreSQL: refused")); got != "org.apache.kafka.connect.errors.ConnectException: connect to PostgreSQL: refused" {
		t.Errorf("trace = %s", got)
	}
}
