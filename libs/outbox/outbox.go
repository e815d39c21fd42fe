package outbox

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
)

// Schema is the outbox table DDL for service migrations.
//
//go:embed schema.sql
var Schema string

// Event is one row to append.
type Event struct {
	// ID identifies the event; zero means a new UUIDv7.
	ID uuid.UUID
	// AggregateType routes the event to topic outbox.event.<AggregateType>.
	AggregateType string
	// AggregateID is the Kafka key: events of one aggregate stay in order.
	AggregateID string
	// Type names the event, e.g. OrderCreated.
	Type string
	// Payload is the event body, a JSON document.
	Payload json.RawMessage
	// OccurredAt is when the change happened; zero means now. Stored in UTC.
	OccurredAt time.Time
	// TraceParent is the W3C traceparent of the writing request; empty
	// means the one in the context passed to Append, if any.
	TraceParent string
}

// ErrInvalidEvent is wrapped by Append's error for an event missing a
// required field, carrying a payload that is not JSON, or refused by the
// Validate hook.
var ErrInvalidEvent = errors.New("outbox: invalid event")

// Writer appends events to one outbox table.
type Writer struct {
	table             string
	deleteAfterInsert bool
	requireCapture    bool
	validate          func(eventType string, payload []byte) error
	metrics           *Metrics
}

// Option configures a Writer.
type Option func(*Writer)

// Table sets the outbox table name (default "outbox"); it may be
// schema-qualified ("app.outbox").
func Table(name string) Option { return func(w *Writer) { w.table = name } }

// DeleteAfterInsert, when on, deletes each row in the same transaction
// right after inserting it, keeping the table empty; the WAL still carries
// the insert.
func DeleteAfterInsert(on bool) Option { return func(w *Writer) { w.deleteAfterInsert = on } }

// Validate runs fn on the type and payload of every event before it is
// written (schemas.Validate fits); an error fails Append (and so the
// caller's transaction) instead of shipping a bad event.
func Validate(fn func(eventType string, payload []byte) error) Option {
	return func(w *Writer) { w.validate = fn }
}

// NewWriter returns a Writer with the given options.
func NewWriter(opts ...Option) *Writer {
	w := &Writer{table: "outbox"}
	for _, o := range opts {
		o(w)
	}
	return w
}

var defaultWriter = NewWriter()

// Append writes events to the "outbox" table in tx. See Writer.Append.
func Append(ctx context.Context, tx pgx.Tx, events ...Event) error {
	return defaultWriter.Append(ctx, tx, events...)
}

// Append writes events through tx, in order. The events exist if and only
// if tx commits. It fills in zero IDs, OccurredAt and TraceParent on the
// caller's slice, so the caller can log or return what was written. With
// Count, they are counted when tx commits. The span in ctx, if it records,
// gets the events' ids and types as its outbox.event_ids and
// outbox.event_types attributes. It costs one round trip; Queue sends the
// same statements together with the caller's own.
func (w *Writer) Append(ctx context.Context, tx pgx.Tx, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	if err := w.Queue(ctx, tx, b, events...); err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("outbox: append to %s: %w", w.table, err)
	}
	return nil
}

// Queue is Append for a caller that sends its own statements as one
// pipelined batch: it checks the events (an invalid one is an error, and
// nothing is queued) and queues on b the statements that write them, with
// the same guarantees as Append once b is sent through tx. Sending b
// (tx.SendBatch(...).Close()) then reports what Append would: an error
// wrapping ErrNoCapture when no usable slot exists (with RequireCapture), or the
// database's error. Statements queued on b before these run before them.
func (w *Writer) Queue(ctx context.Context, tx pgx.Tx, b *pgx.Batch, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	now := time.Now().UTC()
	tp := tracecontext.TraceParent(ctx)
	n := len(events)
	ids := make([]pgtype.UUID, n)
	aggTypes, aggIDs, types, payloads, tps := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	times := make([]time.Time, n)
	for i := range events {
		e := &events[i]
		if e.ID == uuid.Nil {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("outbox: event id: %w", err)
			}
			e.ID = id
		}
		if e.OccurredAt.IsZero() {
			e.OccurredAt = now
		}
		if e.TraceParent == "" {
			e.TraceParent = tp
		}
		if err := check(*e); err != nil {
			return err
		}
		if w.validate != nil {
			if err := w.validate(e.Type, e.Payload); err != nil {
				return fmt.Errorf("%w: %s %s: %w", ErrInvalidEvent, e.Type, e.ID, err)
			}
		}
		// uuids go as pgtype.UUID: uuid.UUID would go through
		// database/sql's Valuer and text, per element.
		ids[i] = pgtype.UUID{Bytes: e.ID, Valid: true}
		aggTypes[i], aggIDs[i], types[i], payloads[i] = e.AggregateType, e.AggregateID, e.Type, string(e.Payload)
		// timestamp without time zone: pgx writes the wall clock, so pass UTC.
		times[i] = e.OccurredAt.UTC()
		if e.TraceParent != "" {
			tps[i] = &e.TraceParent
		}
	}
	// The insert is guarded by the capture check when RequireCapture is
	// on, so nothing is written without a slot; unnest keeps the order of
	// the arrays, so the WAL carries the events in the order given.
	table := sanitize(w.table)
	insert := `INSERT INTO ` + table + ` (id, aggregatetype, aggregateid, type, payload, occurred_at, traceparent)
SELECT id, aggregatetype, aggregateid, type, payload::jsonb, occurred_at, traceparent
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamp[], $7::text[])
  AS e(id, aggregatetype, aggregateid, type, payload, occurred_at, traceparent)`
	if w.requireCapture {
		insert += "\nWHERE " + captureExists
	}
	b.Queue(insert, ids, aggTypes, aggIDs, types, payloads, times, tps).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != int64(n) {
			// Only the capture guard keeps rows out.
			return ErrNoCapture
		}
		return nil
	})
	if w.deleteAfterInsert {
		// The delete must find its rows through the primary key. A table
		// emptied by every transaction looks empty to the planner (vacuum
		// truncates it to no pages), so it plans a sequential scan, which
		// then reads every dead row left since the last vacuum: at a few
		// hundred events a second, thousands of rows per delete. Plans are
		// cached per statement and made under the settings of their first
		// execution, so turning sequential scans off around this statement
		// alone keeps its plan on the index, always. A connection opened
		// with them off (libs/pgdb's pools are) needs neither statement.
		conn := tx.Conn()
		seqScanOff := conn != nil && conn.Config().RuntimeParams["enable_seqscan"] == "off"
		if !seqScanOff {
			b.Queue(`SET LOCAL enable_seqscan = off`)
		}
		b.Queue(`DELETE FROM `+table+` WHERE id = ANY($1)`, ids)
		if !seqScanOff {
			b.Queue(`SET LOCAL enable_seqscan TO DEFAULT`)
		}
	}
	w.countOnCommit(tx, events)
	annotate(ctx, events)
	return nil
}

// annotate records on the span in ctx (the business transaction's) the
// events written: their ids and types, in order.
func annotate(ctx context.Context, events []Event) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	ids, types := make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		ids[i], types[i] = e.ID.String(), e.Type
	}
	span.SetAttributes(attribute.StringSlice("outbox.event_ids", ids), attribute.StringSlice("outbox.event_types", types))
}

func check(e Event) error {
	var missing []string
	if e.AggregateType == "" {
		missing = append(missing, "AggregateType")
	}
	if e.AggregateID == "" {
		missing = append(missing, "AggregateID")
	}
	if e.Type == "" {
		missing = append(missing, "Type")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s missing", ErrInvalidEvent, strings.Join(missing, ", "))
	}
	if !json.Valid(e.Payload) {
		return fmt.Errorf("%w: %s %s: payload is not valid JSON", ErrInvalidEvent, e.Type, e.ID)
	}
	return nil
}

func sanitize(table string) string {
	return pgx.Identifier(strings.Split(table, ".")).Sanitize()
}
