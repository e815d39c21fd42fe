package eventoutbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
)

// Event is a typed event: it marshals to its JSON payload and names its
// outbox row's routing columns.
type Event interface {
	EventType() string     // the type column and the "eventType" header
	AggregateType() string // the aggregatetype column, which picks the topic
	AggregateID() string   // the aggregateid column, the Kafka key
}

// Recorded is one event to append.
type Recorded struct {
	Event Event
	ID    string    // event id, a UUID; "" means a new UUIDv7
	At    time.Time // when it occurred; zero means now
}

// At returns evs as Recorded events that occurred at at, with new ids.
func At[E Event](at time.Time, evs ...E) []Recorded {
	out := make([]Recorded, len(evs))
	for i, e := range evs {
		out[i] = Recorded{Event: e, At: at}
	}
	return out
}

// Options configure a Writer.
type Options struct {
	// Validate, when set, checks each payload against its event type's
	// schema before it is written.
	Validate func(eventType string, payload []byte) error
	// DeleteAfterInsert keeps the outbox table empty; the WAL still carries
	// every insert (see outbox.DeleteAfterInsert).
	DeleteAfterInsert bool
}

// Writer appends typed events to the "outbox" table.
type Writer struct{ w *outbox.Writer }

// New returns a Writer.
func New(opts Options) *Writer {
	var wopts []outbox.Option
	if opts.Validate != nil {
		wopts = append(wopts, outbox.Validate(func(e outbox.Event) error { return opts.Validate(e.Type, e.Payload) }))
	}
	if opts.DeleteAfterInsert {
		wopts = append(wopts, outbox.DeleteAfterInsert())
	}
	return &Writer{w: outbox.NewWriter(wopts...)}
}

// Append marshals recs and writes them through tx, in order.
func (w *Writer) Append(ctx context.Context, tx pgx.Tx, recs ...Recorded) error {
	if len(recs) == 0 {
		return nil
	}
	evs := make([]outbox.Event, len(recs))
	for i, rec := range recs {
		payload, err := json.Marshal(rec.Event)
		if err != nil {
			return fmt.Errorf("encode %s: %w", rec.Event.EventType(), err)
		}
		var id uuid.UUID
		if rec.ID != "" {
			if id, err = uuid.Parse(rec.ID); err != nil {
				return fmt.Errorf("event id %q: %w", rec.ID, err)
			}
		}
		evs[i] = outbox.Event{
			ID:            id,
			AggregateType: rec.Event.AggregateType(),
			AggregateID:   rec.Event.AggregateID(),
			Type:          rec.Event.EventType(),
			Payload:       payload,
			OccurredAt:    rec.At,
		}
	}
	if err := w.w.Append(ctx, tx, evs...); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}
