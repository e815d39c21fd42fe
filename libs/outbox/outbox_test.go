package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) *pgx.Conn {
	t.Helper()
	return setupWith(t, "")
}

// setupWith is setup with params appended to the connection URL.
func setupWith(t *testing.T, params string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.NewDatabase(t)+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), outbox.Schema); err != nil {
		t.Fatal(err)
	}
	return conn
}

func count(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func event(id string) outbox.Event {
	return outbox.Event{AggregateType: "order", AggregateID: id, Type: "OrderCreated", Payload: json.RawMessage(`{"orderId":"` + id + `"}`)}
}

func TestAppendExistsIffCommitted(t *testing.T) {
	conn := setup(t)
	for _, tc := range []struct {
		name   string
		commit bool
		want   int
	}{
		{"rollback leaves no row", false, 0},
		{"commit leaves the rows", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.Exec(t.Context(), "TRUNCATE outbox"); err != nil {
				t.Fatal(err)
			}
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := outbox.Append(t.Context(), tx, event("o-1"), event("o-2")); err != nil {
				t.Fatal(err)
			}
			if tc.commit {
				err = tx.Commit(t.Context())
			} else {
				err = tx.Rollback(t.Context())
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := count(t, conn); got != tc.want {
				t.Fatalf("outbox rows = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestAppendWritesEventRouterShape(t *testing.T) {
	conn := setup(t)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	at := time.Date(2026, 3, 1, 12, 30, 45, 123456000, time.FixedZone("CET", 3600))

	ev := event("o-9")
	ev.OccurredAt = at
	untraced := event("o-10")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.Append(ctx, tx, ev); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Append(t.Context(), tx, untraced); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	var (
		id                               uuid.UUID
		aggType, aggID, typ, payload     string
		occurred                         string
		traceparent, untracedTraceparent *string
	)
	err = conn.QueryRow(t.Context(), `SELECT id, aggregatetype, aggregateid, type, payload::text, occurred_at::text, traceparent FROM outbox WHERE aggregateid = 'o-9'`).
		Scan(&id, &aggType, &aggID, &typ, &payload, &occurred, &traceparent)
	if err != nil {
		t.Fatal(err)
	}
	if id.Version() != 7 {
		t.Errorf("id %s is UUID version %d, want 7", id, id.Version())
	}
	if aggType != "order" || aggID != "o-9" || typ != "OrderCreated" || payload != `{"orderId": "o-9"}` {
		t.Errorf("row = %q %q %q %q", aggType, aggID, typ, payload)
	}
	if occurred != "2026-03-01 11:30:45.123456" {
		t.Errorf("occurred_at = %q, want the UTC wall clock 2026-03-01 11:30:45.123456", occurred)
	}
	if traceparent == nil || *traceparent != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("traceparent = %v", traceparent)
	}
	if err := conn.QueryRow(t.Context(), `SELECT traceparent FROM outbox WHERE aggregateid = 'o-10'`).Scan(&untracedTraceparent); err != nil {
		t.Fatal(err)
	}
	if untracedTraceparent != nil {
		t.Errorf("traceparent without a trace = %q, want NULL", *untracedTraceparent)
	}
	var colType string
	if err := conn.QueryRow(t.Context(), `SELECT data_type FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'occurred_at'`).Scan(&colType); err != nil {
		t.Fatal(err)
	}
	if colType != "timestamp without time zone" {
		t.Errorf("occurred_at type = %q", colType)
	}
}

// TestDeleteAfterInsertKeepsTableEmptyButWALCarriesInsert reads the WAL
// through a logical slot to show the insert is still there for CDC.
func TestDeleteAfterInsertKeepsTableEmptyButWALCarriesInsert(t *testing.T) {
	conn := setup(t)
	if _, err := conn.Exec(t.Context(), `SELECT pg_create_logical_replication_slot('t_slot', 'test_decoding')`); err != nil {
		t.Fatal(err)
	}
	w := outbox.NewWriter(outbox.DeleteAfterInsert(true))
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ev := []outbox.Event{event("o-5")}
	if err := w.Append(t.Context(), tx, ev...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, conn); got != 0 {
		t.Fatalf("outbox rows = %d, want 0", got)
	}
	rows, err := conn.Query(t.Context(), `SELECT data FROM pg_logical_slot_get_changes('t_slot', NULL, NULL)`)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var inserted, deleted bool
	for _, c := range changes {
		inserted = inserted || (strings.HasPrefix(c, "table public.outbox: INSERT:") && strings.Contains(c, ev[0].ID.String()))
		deleted = deleted || strings.HasPrefix(c, "table public.outbox: DELETE:")
	}
	if !inserted || !deleted {
		t.Fatalf("WAL changes %q: want the insert of %s and a delete", changes, ev[0].ID)
	}
}

// The delete after insert goes through the primary key even when the
// planner believes the table empty, as it does after vacuum truncated it;
// a sequential scan would read every dead row since the last vacuum. The
// transaction's own statistics count the scans. The writer turns
// sequential scans off around the delete unless the connection was opened
// with them off.
func TestDeleteAfterInsertUsesTheIndex(t *testing.T) {
	tests := []struct {
		name, params string
		wantSets     int    // SET statements queued around the delete
		wantSetting  string // enable_seqscan after Append
	}{
		{"PostgreSQL's default", "", 2, "on"},
		{"connection opened with sequential scans off", "&enable_seqscan=off", 0, "off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := setupWith(t, tt.params)
			// Dead rows, then a vacuum that truncates the table to no pages.
			for range 20 {
				if err := pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
					return outbox.NewWriter(outbox.DeleteAfterInsert(true)).Append(t.Context(), tx, event("o-1"), event("o-2"))
				}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := conn.Exec(t.Context(), "VACUUM outbox"); err != nil {
				t.Fatal(err)
			}
			w := outbox.NewWriter(outbox.DeleteAfterInsert(true))
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			scans := func() (seq, idx int64) {
				t.Helper()
				if err := tx.QueryRow(t.Context(), `SELECT coalesce(sum(seq_scan), 0), coalesce(sum(idx_scan), 0) FROM pg_stat_xact_user_tables WHERE relname = 'outbox'`).
					Scan(&seq, &idx); err != nil {
					t.Fatal(err)
				}
				return seq, idx
			}
			seq0, idx0 := scans()
			// More than five runs: PostgreSQL settles on a cached generic plan.
			const runs = 8
			for range runs {
				b := &pgx.Batch{}
				if err := w.Queue(t.Context(), tx, b, event("o-3")); err != nil {
					t.Fatal(err)
				}
				sets := 0
				for _, q := range b.QueuedQueries {
					if strings.HasPrefix(q.SQL, "SET") {
						sets++
					}
				}
				if sets != tt.wantSets {
					t.Fatalf("%d SET statements queued, want %d", sets, tt.wantSets)
				}
				if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
					t.Fatal(err)
				}
			}
			seq1, idx1 := scans()
			if seq1 != seq0 || idx1-idx0 < runs {
				t.Fatalf("outbox scans by %d appends: %d sequential, %d by index; want 0 and at least %d", runs, seq1-seq0, idx1-idx0, runs)
			}
			var setting string
			if err := tx.QueryRow(t.Context(), "SHOW enable_seqscan").Scan(&setting); err != nil {
				t.Fatal(err)
			}
			if setting != tt.wantSetting {
				t.Fatalf("enable_seqscan after Append = %s, want %s", setting, tt.wantSetting)
			}
		})
	}
}

func TestAppendRejectsInvalidEvents(t *testing.T) {
	conn := setup(t)
	errBad := errors.New("schema says no")
	for _, tc := range []struct {
		name string
		w    *outbox.Writer
		ev   outbox.Event
	}{
		{"missing aggregate id", outbox.NewWriter(), outbox.Event{AggregateType: "order", Type: "X", Payload: json.RawMessage(`{}`)}},
		{"payload not JSON", outbox.NewWriter(), outbox.Event{AggregateType: "order", AggregateID: "1", Type: "X", Payload: json.RawMessage(`{`)}},
		{"validator refuses", outbox.NewWriter(outbox.Validate(func(string, []byte) error { return errBad })), event("o-1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			err = tc.w.Append(t.Context(), tx, tc.ev)
			if !errors.Is(err, outbox.ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	if got := count(t, conn); got != 0 {
		t.Fatalf("outbox rows = %d, want 0", got)
	}
}

// Queue puts the outbox statements on the caller's batch: sent with the
// caller's own statements, in one round trip, they commit or roll back
// together, and the batch reports what Append would.
func TestQueueJoinsTheCallersBatch(t *testing.T) {
	conn := setup(t)
	if _, err := conn.Exec(t.Context(), "CREATE TABLE carts (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		writer *outbox.Writer
		events []outbox.Event
		queued error // want from Queue
		sent   error // want from sending the batch
		carts  int   // rows of the caller's table after the transaction
		outbox int
	}{
		{"both commit", outbox.NewWriter(), []outbox.Event{event("c-1"), event("c-1")}, nil, nil, 1, 2},
		{"no capture rolls the caller back too", outbox.NewWriter(outbox.RequireCapture(true)), []outbox.Event{event("c-1")},
			nil, outbox.ErrNoCapture, 0, 0},
		{"an invalid event queues nothing", outbox.NewWriter(), []outbox.Event{{AggregateType: "cart", Type: "ItemAdded", Payload: json.RawMessage(`{}`)}},
			outbox.ErrInvalidEvent, nil, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := conn.Exec(t.Context(), "TRUNCATE outbox, carts"); err != nil {
				t.Fatal(err)
			}
			err := pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
				b := &pgx.Batch{}
				b.Queue("INSERT INTO carts (id) VALUES ('c-1')")
				if err := tc.writer.Queue(t.Context(), tx, b, tc.events...); !errors.Is(err, tc.queued) || (err == nil) != (tc.queued == nil) {
					t.Fatalf("Queue = %v, want %v", err, tc.queued)
				}
				if tc.queued != nil && b.Len() != 1 {
					t.Fatalf("batch has %d statements after a refused Queue, want only the caller's", b.Len())
				}
				return tx.SendBatch(t.Context(), b).Close()
			})
			if !errors.Is(err, tc.sent) || (err == nil) != (tc.sent == nil) {
				t.Fatalf("sending the batch = %v, want %v", err, tc.sent)
			}
			var carts int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM carts").Scan(&carts); err != nil {
				t.Fatal(err)
			}
			if carts != tc.carts || count(t, conn) != tc.outbox {
				t.Fatalf("carts = %d, outbox = %d; want %d, %d", carts, count(t, conn), tc.carts, tc.outbox)
			}
		})
	}
}
