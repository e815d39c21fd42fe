package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

func TestBackoffBounds(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 5 * time.Second
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration // over every jitter pick
	}{
		{1, lo, lo},
		{2, lo, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{6, 1600 * time.Millisecond, 3200 * time.Millisecond},
		{7, 2500 * time.Millisecond, hi},
		{50, 2500 * time.Millisecond, hi},
		{1 << 20, 2500 * time.Millisecond, hi},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			if got := backoff(tc.attempt, lo, hi, lowest); got != tc.min {
				t.Errorf("lowest pick = %v, want %v", got, tc.min)
			}
			if got := backoff(tc.attempt, lo, hi, highest); got != tc.max {
				t.Errorf("highest pick = %v, want %v", got, tc.max)
			}
			for range 200 {
				if got := backoff(tc.attempt, lo, hi, jitter); got < tc.min || got > tc.max {
					t.Fatalf("backoff = %v, outside [%v, %v]", got, tc.min, tc.max)
				}
			}
		})
	}
}

func TestSleepIsInterruptible(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if sleep(ctx, time.Hour) {
		t.Fatal("sleep reported a full wait on a canceled context")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("sleep took %v on a canceled context", d)
	}
	if !sleep(t.Context(), time.Millisecond) {
		t.Fatal("short sleep reported an interruption")
	}
}

func TestClassify(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "x"} }
	for _, tc := range []struct {
		name string
		err  error
		want class
	}{
		{"marked permanent", Permanent(errors.New("bad")), permanent},
		{"permanent wrapped again", fmt.Errorf("handler: %w", Permanent(errors.New("bad"))), permanent},
		{"permanent beats unavailable", Permanent(pg("08006")), permanent},
		{"panic", Permanent(&panicError{value: "boom"}), permanent},
		{"undecodable", mustDecodeErr(t, &kgo.Record{}), permanent},
		{"input that breaks a domain rule", fmt.Errorf("order o-1: %w", validation.Field("quantity", "must be >= 1")), permanent},
		{"serialization failure", fmt.Errorf("exec: %w", pg("40001")), retry},
		{"deadlock", pg("40P01"), retry},
		{"unique violation", pg("23505"), retry},
		{"attempt deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), retry},
		{"unknown", errors.New("something odd"), retry},
		{"begin failed", &unavailableError{errors.New("dial tcp: connection refused")}, unavailable},
		{"the system cannot take it now", fmt.Errorf("save: %w", notNow{true}), unavailable},
		{"an error that is not unavailable after all", notNow{false}, retry},
		{"connect error", fmt.Errorf("acquire: %w", &pgconn.ConnectError{}), unavailable},
		{"connection failure", pg("08006"), unavailable},
		{"admin shutdown", pg("57P01"), unavailable},
		{"cannot connect now", pg("57P03"), unavailable},
		{"first statement never sent", beginError(fmt.Errorf("claim: %w", neverSent{})), unavailable},
		{"first statement failed", beginError(pg("23505")), retry},
		{"commit never sent", &commitUnknownError{neverSent{}}, retry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err); got != tc.want {
				t.Fatalf("classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	base := errors.New("declined")
	err := fmt.Errorf("charge: %w", Permanent(base))
	if !IsPermanent(err) || !errors.Is(err, base) || err.Error() != "charge: declined" {
		t.Fatalf("wrapped permanent error lost its mark, cause or text: %v", err)
	}
	if IsPermanent(base) {
		t.Fatal("unmarked error reported permanent")
	}
}

func mustDecodeErr(t *testing.T, r *kgo.Record) error {
	t.Helper()
	_, err := decode(r)
	if err == nil {
		t.Fatal("decode succeeded")
	}
	return err
}

func TestDecode(t *testing.T) {
	const id = "0199a3c2-5a1e-7c3d-9b1f-2f6f0e1d4c3b"
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(kv ...string) []kgo.RecordHeader {
		var hs []kgo.RecordHeader
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	for _, tc := range []struct {
		name    string
		headers []kgo.RecordHeader
		want    Event
		errText string
	}{
		{
			name:    "debezium headers",
			headers: h("__debezium.context.connectorLogicalName", "app", "id", id, "eventType", "OrderCreated", "traceparent", "00-abc-def-01"),
			want:    Event{ID: id, Type: "OrderCreated", TraceParent: "00-abc-def-01"},
		},
		{
			name:    "uppercase id is canonicalised",
			headers: h("id", strings.ToUpper(id)),
			want:    Event{ID: id},
		},
		{
			name:    "first of duplicated headers wins",
			headers: h("id", id, "eventType", "A", "id", "0199a3c2-5a1e-7c3d-9b1f-000000000000", "eventType", "B"),
			want:    Event{ID: id, Type: "A"},
		},
		{name: "no id header", headers: h("eventType", "OrderCreated"), errText: `no "id" header`},
		{name: "id not a uuid", headers: h("id", "order-1"), errText: "is not a UUID"},
		{name: "empty id", headers: h("id", ""), errText: "is not a UUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &kgo.Record{Topic: "t", Partition: 2, Offset: 9, Key: []byte("order-1"), Value: []byte(`{}`), Headers: tc.headers, Timestamp: ts}
			ev, err := decode(r)
			if tc.errText != "" {
				if err == nil || !errors.Is(err, ErrUndecodable) || !IsPermanent(err) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want a permanent ErrUndecodable containing %q", err, tc.errText)
				}
				if ev.ID != "" {
					t.Fatalf("ID = %q on a decode failure, want empty", ev.ID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID != tc.want.ID || ev.Type != tc.want.Type || ev.TraceParent != tc.want.TraceParent {
				t.Fatalf("event = %+v, want %+v", ev, tc.want)
			}
			if ev.Key != "order-1" || string(ev.Payload) != `{}` || ev.Topic != "t" || ev.Partition != 2 || ev.Offset != 9 ||
				!ev.Timestamp.Equal(ts) || len(ev.Headers) != len(tc.headers) {
				t.Fatalf("record fields not carried over: %+v", ev)
			}
		})
	}
}

func TestMuxRoutesByType(t *testing.T) {
	var got []string
	h := func(name string) Handler {
		return func(context.Context, pgx.Tx, Event) error { got = append(got, name); return nil }
	}
	m := Mux{"OrderCreated": h("created"), "OrderPaid": h("paid")}
	for _, typ := range []string{"OrderCreated", "Unknown", "", "OrderPaid"} {
		if err := m.Handle(t.Context(), nil, Event{Type: typ}); err != nil {
			t.Fatalf("%q: %v", typ, err)
		}
	}
	if strings.Join(got, ",") != "created,paid" {
		t.Fatalf("handled %v, want created,paid", got)
	}
}

func TestNewChecksConfig(t *testing.T) {
	pool := &pgxpool.Pool{} // never used: New does not connect
	ok := Config{Brokers: []string{"127.0.0.1:9092"}, Group: "g", Topics: []string{"t"}, Pool: pool,
		Handler: func(context.Context, pgx.Tx, Event) error { return nil }}
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		errSub string
	}{
		{"valid", func(*Config) {}, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "Brokers"},
		{"no group", func(c *Config) { c.Group = "" }, "Group"},
		{"no topics", func(c *Config) { c.Topics = nil }, "Topics"},
		{"no pool", func(c *Config) { c.Pool = nil }, "Pool"},
		{"no handler", func(c *Config) { c.Handler = nil }, "Handler"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "negative"},
		{"min above max", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Millisecond }, "exceeds"},
		{"min above default max", func(c *Config) { c.BackoffMin = 10 * time.Second }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			c, err := New(cfg)
			if tc.errSub == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.cfg.MaxAttempts != DefaultMaxAttempts || c.cfg.InboxTable != "inbox" || c.cfg.AttemptTimeout != DefaultAttemptTimeout ||
					c.cfg.BackoffMin > c.cfg.BackoffMax {
					t.Fatalf("defaults not applied: %+v", c.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errSub)
			}
		})
	}
}

// notNow is an error that says whether the system, not the event, failed.
type notNow struct{ unavailable bool }

func (notNow) Error() string       { return "capture not set up" }
func (n notNow) Unavailable() bool { return n.unavailable }

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name  string
		steps string // s: a record or batch committed, f: a batch rolled back
		want  int
	}{
		{"starts at the limit", "", 16},
		{"successes stay at the limit", "sss", 16},
		{"a rollback quarters it", "f", 4},
		{"rollbacks go down to one", "fff", 1},
		{"successes grow it back one by one", "ffsss", 4},
		{"back to the limit", "f" + strings.Repeat("s", 20), 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batchSize{cur: 16, max: 16}
			for _, s := range tt.steps {
				if s == 'f' {
					b.failed()
				} else {
					b.succeeded()
				}
			}
			if b.cur != tt.want {
				t.Fatalf("after %q: %d, want %d", tt.steps, b.cur, tt.want)
			}
		})
	}
}

// neverSent is an error pgconn reports for a statement it could not send
// at all.
type neverSent struct{}

func (neverSent) Error() string     { return "write: broken pipe" }
func (neverSent) SafeToRetry() bool { return true }
