package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Typed is an event of a Go type: it marshals (encoding/json) to its JSON
// payload and names its own row's routing columns, so no caller spells an
// aggregate type or event type by hand. The event types of schemas/events
// satisfy it.
//
// A Typed value that also has a method EventID() uuid.UUID is written under
// the id it returns (uuid.Nil: a new one), for a writer that has to know
// the id before the row exists.
type Typed interface {
	EventType() string     // the type column and the "eventType" header
	AggregateType() string // the aggregatetype column, which picks the topic
	AggregateID() string   // the aggregateid column, the Kafka key
}

// identified is a Typed value that names its own event id.
type identified interface{ EventID() uuid.UUID }

// AppendTyped writes evs through tx with w, in order, as rows that
// occurred at at (zero: now): each marshalled to its payload, under its
// EventID or a new UUIDv7. It is w.Append for typed events, with the same
// guarantees and checks; an event that does not marshal fails it before
// anything is written.
func AppendTyped[E Typed](ctx context.Context, tx pgx.Tx, w *Writer, at time.Time, evs ...E) error {
	rows, err := rowsOf(at, evs)
	if err != nil {
		return err
	}
	return w.Append(ctx, tx, rows...)
}

// QueueTyped is AppendTyped on a caller's batch: w.Queue for typed events.
func QueueTyped[E Typed](ctx context.Context, tx pgx.Tx, b *pgx.Batch, w *Writer, at time.Time, evs ...E) error {
	rows, err := rowsOf(at, evs)
	if err != nil {
		return err
	}
	return w.Queue(ctx, tx, b, rows...)
}

// rowsOf marshals evs into outbox rows that occurred at at.
func rowsOf[E Typed](at time.Time, evs []E) ([]Event, error) {
	rows := make([]Event, len(evs))
	for i, e := range evs {
		payload, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("outbox: encode %s: %w", e.EventType(), err)
		}
		rows[i] = Event{
			AggregateType: e.AggregateType(),
			AggregateID:   e.AggregateID(),
			Type:          e.EventType(),
			Payload:       payload,
			OccurredAt:    at,
		}
		if id, ok := any(e).(identified); ok {
			rows[i].ID = id.EventID()
		}
	}
	return rows, nil
}
