package consumer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names the runtime reads from records.
const (
	HeaderID          = "id"          // event id, a UUID (the outbox row id)
	HeaderEventType   = "eventType"   // event type
	HeaderTraceParent = "traceparent" // W3C trace context of the writer
)

// Event is one decoded record.
type Event struct {
	ID          string             // from the "id" header (the outbox row id), canonical UUID text
	Type        string             // from the "eventType" header, "" when none
	Key         string             // record key = aggregate id
	Payload     []byte             // record value
	Headers     []kgo.RecordHeader // all headers, in order
	TraceParent string             // "traceparent" header, "" when none
	Topic       string
	Partition   int32
	Offset      int64
	Timestamp   time.Time
}

// Handler applies one event. Every effect must be written through tx: the
// runtime commits tx together with the event's inbox row, so the effects
// happen once per consumer group however often the event is delivered.
// Return an error to roll tx back; wrap it with Permanent when retrying
// cannot help.
type Handler func(ctx context.Context, tx pgx.Tx, ev Event) error

// Mux routes by event type; types without a handler are acknowledged and
// ignored. Given its Types as Config.Types (libs/service does), the
// consumer acknowledges those without a transaction and leaves no inbox row
// for them; otherwise they are inbox-claimed and committed like any event.
// A service's Mux is the one list of what it consumes: its topics, its
// payload validation and Config.Types derive from Types.
type Mux map[string]Handler

// Types returns the event types m handles, sorted.
func (m Mux) Types() []string { return slices.Sorted(maps.Keys(m)) }

// Handle calls the handler registered for ev.Type, or does nothing.
func (m Mux) Handle(ctx context.Context, tx pgx.Tx, ev Event) error {
	h := m[ev.Type]
	if h == nil {
		return nil
	}
	return h(ctx, tx, ev)
}

// decode turns a record into an Event. When a header appears more than
// once the first one counts. A missing or non-UUID "id" header is a
// permanent error wrapping ErrUndecodable; the Event then has an empty ID.
func decode(r *kgo.Record) (Event, error) {
	ev := Event{
		Key:       string(r.Key),
		Payload:   r.Value,
		Headers:   r.Headers,
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
	}
	var id, typ, tp bool
	for _, h := range r.Headers {
		switch {
		case h.Key == HeaderID && !id:
			ev.ID, id = string(h.Value), true
		case h.Key == HeaderEventType && !typ:
			ev.Type, typ = string(h.Value), true
		case h.Key == HeaderTraceParent && !tp:
			ev.TraceParent, tp = string(h.Value), true
		}
	}
	if !id {
		return ev, Permanent(fmt.Errorf("%w: no %q header", ErrUndecodable, HeaderID))
	}
	u, err := uuid.Parse(ev.ID)
	if err != nil {
		bad := ev.ID
		ev.ID = ""
		return ev, Permanent(fmt.Errorf("%w: %q header %q is not a UUID: %w", ErrUndecodable, HeaderID, bad, err))
	}
	ev.ID = u.String()
	return ev, nil
}
