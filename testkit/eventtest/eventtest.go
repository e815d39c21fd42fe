package eventtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

// NewID returns a fresh event id, a UUIDv7 as the outbox writer makes.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// payload returns p as JSON: a []byte is taken as is (to send what no Go
// value would marshal to), anything else is marshalled.
func payload(t testing.TB, p any) []byte {
	t.Helper()
	if b, ok := p.([]byte); ok {
		return b
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("eventtest: payload: %v", err)
	}
	return b
}

// Record returns the record the connector produces for an outbox row of
// eventType about aggregate key, under a fresh event id.
func Record(t testing.TB, topic, eventType, key string, p any) *kgo.Record {
	t.Helper()
	return RecordWithID(t, NewID(), topic, eventType, key, p)
}

// RecordWithID is Record with a given event id, to deliver one event more
// than once.
func RecordWithID(t testing.TB, id, topic, eventType, key string, p any) *kgo.Record {
	t.Helper()
	return &kgo.Record{
		Topic: topic,
		Key:   []byte(key),
		Value: payload(t, p),
		Headers: []kgo.RecordHeader{
			{Key: consumer.HeaderID, Value: []byte(id)},
			{Key: consumer.HeaderEventType, Value: []byte(eventType)},
		},
	}
}

// Redelivery returns a record of its own carrying the same event as r
// (topic, key, value, headers), to deliver it again. A record must not be
// produced twice at once, so a test sending one event twice in one batch
// sends r and its redelivery.
func Redelivery(r *kgo.Record) *kgo.Record {
	return &kgo.Record{
		Topic:   r.Topic,
		Key:     slices.Clone(r.Key),
		Value:   slices.Clone(r.Value),
		Headers: slices.Clone(r.Headers),
	}
}

// ID returns a record's event id, its first "id" header.
func ID(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == consumer.HeaderID {
			return string(h.Value)
		}
	}
	return ""
}

// IDs returns the event ids of recs.
func IDs(recs ...*kgo.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = ID(r)
	}
	return ids
}

// Event returns the consumer.Event the runtime hands a handler for
// Record(t, topic, eventType, key, p).
func Event(t testing.TB, topic, eventType, key string, p any) consumer.Event {
	t.Helper()
	r := Record(t, topic, eventType, key, p)
	return consumer.Event{
		ID: ID(r), Type: eventType, Key: key, Payload: r.Value, Headers: r.Headers,
		Topic: topic, Timestamp: time.Now(),
	}
}

// Querier is what the readers need: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Row is one outbox row as the connector reads it.
type Row struct {
	ID            string
	AggregateType string
	AggregateID   string
	Type          string
	Payload       []byte         // the payload JSON
	Fields        map[string]any // the payload decoded
}

// Expect is what every row a service writes must satisfy.
type Expect struct {
	// AggregateType, when set, is the aggregatetype of every row (it routes
	// the topic).
	AggregateType string
	// Validate, when set, checks each payload against its event type's
	// schema.
	Validate func(eventType string, payload []byte) error
}

const outboxQuery = `SELECT id::text, aggregatetype, aggregateid, type, payload::text FROM outbox
WHERE cardinality($1::text[]) = 0 OR aggregateid = ANY($1::text[])
ORDER BY occurred_at, id`

// Outbox returns the outbox rows in the order the connector publishes them
// (occurred_at, then id), only those of aggregateIDs when any are given.
// A row breaking want fails the test (without stopping it).
func Outbox(t testing.TB, db Querier, want Expect, aggregateIDs ...string) []Row {
	t.Helper()
	if aggregateIDs == nil {
		aggregateIDs = []string{}
	}
	rows, err := db.Query(t.Context(), outboxQuery, aggregateIDs)
	if err != nil {
		t.Fatalf("eventtest: outbox: %v", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Row, error) {
		var r Row
		var payload string
		err := row.Scan(&r.ID, &r.AggregateType, &r.AggregateID, &r.Type, &payload)
		r.Payload = []byte(payload)
		return r, err
	})
	if err != nil {
		t.Fatalf("eventtest: outbox: %v", err)
	}
	for i := range out {
		for _, p := range check(&out[i], want) {
			t.Errorf("eventtest: outbox row %s %s: %s", out[i].Type, out[i].ID, p)
		}
	}
	return out
}

// check decodes r's payload into Fields and returns how r breaks want.
func check(r *Row, want Expect) []string {
	var problems []string
	if err := json.Unmarshal(r.Payload, &r.Fields); err != nil {
		problems = append(problems, fmt.Sprintf("payload is not a JSON object: %v", err))
	}
	if want.AggregateType != "" && r.AggregateType != want.AggregateType {
		problems = append(problems, fmt.Sprintf("aggregatetype %q, want %q", r.AggregateType, want.AggregateType))
	}
	if want.Validate != nil {
		if err := want.Validate(r.Type, r.Payload); err != nil {
			problems = append(problems, fmt.Sprintf("payload breaks its schema: %v", err))
		}
	}
	return problems
}

// Types returns the event types of rows, in order.
func Types(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Type
	}
	return out
}

// Within bounds WaitHandled; generous because the race detector slows
// everything down.
const Within = 60 * time.Second

const inboxQuery = `SELECT event_id::text, outcome FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])`

// WaitHandled waits until group has finished with every event of ids (its
// inbox holds them: the handler's transaction committed, or the record was
// dead-lettered) and returns each one's outcome, "processed" or
// "dead_lettered". The test fails after Within.
func WaitHandled(t testing.TB, db Querier, group string, ids ...string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(Within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		outcomes, err := handled(t.Context(), db, group, ids)
		if err != nil {
			t.Fatalf("eventtest: inbox: %v", err)
		}
		if len(outcomes) == len(ids) {
			return outcomes
		}
		if time.Now().After(deadline) {
			t.Fatalf("eventtest: %d of %d events handled by %s within %v", len(outcomes), len(ids), group, Within)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("eventtest: waiting for events to be handled: %v", t.Context().Err())
		}
	}
}

func handled(ctx context.Context, db Querier, group string, ids []string) (map[string]string, error) {
	rows, err := db.Query(ctx, inboxQuery, group, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var id, outcome string
	_, err = pgx.ForEachRow(rows, []any{&id, &outcome}, func() error {
		out[id] = outcome
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return out, nil
}
