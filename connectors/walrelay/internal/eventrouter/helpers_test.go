package eventrouter

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

const (
	testID      = "6f1c2a52-6a4e-4a8e-9c1e-3f2b7d9a0b11"
	testPayload = `{"total": 19.99, "orderId": 42}`
)

var testNow = time.UnixMilli(1_700_000_000_123)

// rk returns the connector key of an EventRouter option.
func rk(key string) string { return "transforms.outbox." + key }

const (
	stringConv = "org.apache.kafka.connect.storage.StringConverter"
	jsonConv   = "org.apache.kafka.connect.json.JsonConverter"
	bytesConv  = "org.apache.kafka.connect.converters.ByteArrayConverter"
)

// baseConfig is an outbox connector with StringConverters and no context headers; extra overrides it (an empty
// value deletes the key).
func baseConfig(extra map[string]string) map[string]string {
	cfg := map[string]string{
		"topic.prefix":             "app",
		"extended.headers.enabled": "false",
		"transforms":               "outbox",
		rk("type"):                 "io.debezium.transforms.outbox.EventRouter",
		"key.converter":            stringConv,
		"value.converter":          stringConv,
	}
	for k, v := range extra {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

func newTestRouter(t *testing.T, extra map[string]string) *Router {
	t.Helper()
	return newLoggingTestRouter(t, extra, discardLog)
}

func newLoggingTestRouter(t *testing.T, extra map[string]string, log *slog.Logger) *Router {
	t.Helper()
	r, errs := New("outbox-connector", baseConfig(extra), Worker{}, log)
	if len(errs) > 0 {
		t.Fatalf("New: %v", errs)
	}
	return r
}

var discardLog = slog.New(slog.DiscardHandler)

func col(name string, oid uint32, value string) Column {
	return Column{Name: name, TypeOID: oid, TypeMod: -1, Value: []byte(value)}
}

func nullCol(name string, oid uint32) Column {
	return Column{Name: name, TypeOID: oid, TypeMod: -1, Null: true}
}

func notNull(c Column) Column { c.NotNull = true; return c }

// outboxRow is the contract's outbox table row, plus extra columns (replacing same-named ones).
func outboxRow(extra ...Column) []Column {
	cols := []Column{
		{Name: "id", TypeOID: OIDUUID, TypeMod: -1, NotNull: true, Key: true, Value: []byte(testID)},
		notNull(col("aggregatetype", OIDVarchar, "order")),
		notNull(col("aggregateid", OIDVarchar, "42")),
		notNull(col("type", OIDVarchar, "OrderCreated")),
		col("payload", OIDJSONB, testPayload),
	}
outer:
	for _, e := range extra {
		for i := range cols {
			if cols[i].Name == e.Name {
				cols[i] = e
				continue outer
			}
		}
		cols = append(cols, e)
	}
	return cols
}

func insert(cols []Column) Change {
	return Change{Op: OpCreate, Schema: "public", Table: "outbox", After: cols}
}

func mustRoute(t *testing.T, r *Router, ch Change) *Record {
	t.Helper()
	rec, err := r.Route(ch, testNow)
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if rec == nil {
		t.Fatal("Route dropped the change")
	}
	return rec
}

func routeErr(t *testing.T, r *Router, ch Change, want string) {
	t.Helper()
	rec, err := r.Route(ch, testNow)
	if err == nil {
		t.Fatalf("Route succeeded (%+v), want an error containing %q", rec, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Route error %q does not contain %q", err, want)
	}
}

func headerMap(t *testing.T, rec *Record) string {
	t.Helper()
	return fmtHeaders(rec.Headers)
}

// captureLogs returns a logger for a router and the buffer it writes to.
func captureLogs() (*servicetest.LogBuffer, *slog.Logger) {
	lb := &servicetest.LogBuffer{}
	return lb, slog.New(slog.NewTextHandler(lb, nil))
}
