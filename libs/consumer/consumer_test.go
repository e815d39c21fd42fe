package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

func testDuplicateDeliveryHasOneEffect(t *testing.T, e *env) {
	id := newID()
	// The same event twice (a relay retry re-produces it), then another.
	kafkatest.Produce(t, e.addr, e.topic,
		event("order-1", id, "OrderCreated", "1"),
		event("order-1", id, "OrderCreated", "1"),
		event("order-1", newID(), "OrderPaid", "2"),
	)
	var c calls
	r := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		c.add(ev.ID)
		return insertEffect(ctx, tx, ev, "")
	}))
	waitFor(t, 30*time.Second, "both events handled and all offsets committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) == 2 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := e.count(`SELECT count(*) FROM effects WHERE event_id = $1`, id); n != 1 {
		t.Fatalf("effects of the duplicated event = %d, want 1", n)
	}
	if n := c.get(id); n != 1 {
		t.Fatalf("handler calls for the duplicated event = %d, want 1 (the inbox skips the copy)", n)
	}
	if n := e.duplicates(); n != 1 {
		t.Fatalf("duplicates skipped = %d, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE consumer_group = $1 AND outcome = 'processed'`, e.group("payment")); n != 2 {
		t.Fatalf("inbox rows = %d, want 2", n)
	}
	if end := e.ends(e.topic); len(end) != 1 {
		t.Fatalf("records spread over partitions %v, want one (same key)", end)
	}
}

func testPoisonRecordsGoToTheDeadLetterTopic(t *testing.T, e *env) {
	ids := map[string]string{}
	for _, name := range []string{"ok-1", "permanent", "invalid", "panic", "exhausted", "ok-2"} {
		ids[name] = newID()
	}
	noID := &kgo.Record{Key: []byte("order-1"), Value: []byte("3"), Headers: []kgo.RecordHeader{{Key: "eventType", Value: []byte("OrderCreated")}}}
	badID := event("order-1", "order-1-created", "OrderCreated", "4")
	// One key: every record lands on the same partition, in this order.
	kafkatest.Produce(t, e.addr, e.topic,
		event("order-1", ids["ok-1"], "OrderCreated", "1"),
		event("order-1", ids["permanent"], "Permanent", "2"),
		noID,
		badID,
		event("order-1", ids["invalid"], "Invalid", "5"),
		event("order-1", ids["panic"], "Panic", "6"),
		event("order-1", ids["exhausted"], "Flaky", "7"),
		event("order-1", ids["ok-2"], "OrderPaid", "8"),
	)
	var flaky atomic.Int32
	errBoom := errors.New("card declined for good")
	cfg := e.config(e.group("payment"), consumer.Mux{
		"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { return insertEffect(ctx, tx, ev, "") },
		"OrderPaid":    func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { return insertEffect(ctx, tx, ev, "") },
		"Invalid":      func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { return insertEffect(ctx, tx, ev, "") },
		"Permanent": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			if err := insertEffect(ctx, tx, ev, ""); err != nil { // rolled back with the failure
				return err
			}
			return consumer.Permanent(fmt.Errorf("charge: %w", errBoom))
		},
		"Panic": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { panic("nil card") },
		"Flaky": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			flaky.Add(1)
			return errors.New("upstream still down")
		},
	}.Handle)
	cfg.MaxAttempts = 3
	cfg.Validate = func(ev consumer.Event) error {
		if ev.Type == "Invalid" {
			return errors.New("payload does not match OrderCreated v1")
		}
		return nil
	}
	r := e.start(cfg)

	// Nothing but the runtime touches the dead-letter topic before it
	// holds every record, so it is the runtime's produce that creates it.
	waitFor(t, 30*time.Second, "six dead-lettered records", func() bool {
		n, ok := e.recordsOK(e.topic + ".dlq")
		return ok && n >= 6
	})
	dlq := kafkatest.Consume(t, e.addr, e.topic+".dlq", 6, 30*time.Second)
	waitFor(t, 30*time.Second, "all offsets committed", func() bool { return e.allCommitted(e.group("payment"), e.topic) })
	r.stop(t)

	want := []struct {
		name     string
		offset   int64
		id       string
		attempts string
		errText  string
	}{
		{"permanent", 1, ids["permanent"], "1", "charge: card declined for good"},
		{"no id header", 2, "", "1", `consumer: undecodable record: no "id" header`},
		{"id not a uuid", 3, "order-1-created", "1", "is not a UUID"},
		{"validate", 4, ids["invalid"], "1", "consumer: invalid event: payload does not match OrderCreated v1"},
		{"panic", 5, ids["panic"], "1", "panic: nil card"},
		{"exhausted", 6, ids["exhausted"], "3", "attempts exhausted: upstream still down"},
	}
	if len(dlq) != len(want) {
		t.Fatalf("dead-lettered %d records, want %d", len(dlq), len(want))
	}
	for i, w := range want {
		t.Run(w.name, func(t *testing.T) {
			d := dlq[i]
			h := headers(d)
			if string(d.Key) != "order-1" || string(d.Value) != strconv.Itoa(int(w.offset)+1) {
				t.Errorf("key/value = %q/%q, want the original", d.Key, d.Value)
			}
			if w.id != "" && first(d, "id") != w.id {
				t.Errorf("id header = %q, want %q", first(d, "id"), w.id)
			}
			if got := h[consumer.HeaderDLQError]; !strings.Contains(got, w.errText) {
				t.Errorf("dlq.error = %q, want it to contain %q", got, w.errText)
			}
			for k, v := range map[string]string{
				consumer.HeaderDLQAttempts:          w.attempts,
				consumer.HeaderDLQOriginalTopic:     e.topic,
				consumer.HeaderDLQOriginalPartition: strconv.Itoa(int(dlqSourcePartition(t, e))),
				consumer.HeaderDLQOriginalOffset:    strconv.FormatInt(w.offset, 10),
				consumer.HeaderDLQGroup:             e.group("payment"),
			} {
				if h[k] != v {
					t.Errorf("%s = %q, want %q", k, h[k], v)
				}
			}
			at, err := time.Parse(time.RFC3339, h[consumer.HeaderDLQFailedAt])
			if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
				t.Errorf("dlq.failed.at = %q (%v), want a recent RFC 3339 time", h[consumer.HeaderDLQFailedAt], err)
			}
		})
	}
	if n := flaky.Load(); n != 3 {
		t.Errorf("flaky handler attempts = %d, want MaxAttempts = 3", n)
	}
	// Later records on the partition were processed; failed ones left no effect.
	if n := e.count(`SELECT count(*) FROM effects`); n != 2 {
		t.Errorf("effects = %d, want 2 (ok-1, ok-2)", n)
	}
	if n := e.count(`SELECT count(*) FROM effects WHERE event_id = $1`, ids["ok-2"]); n != 1 {
		t.Errorf("record after the poison ones not processed")
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'`); n != 4 {
		t.Errorf("dead_lettered inbox rows = %d, want 4 (records with an id)", n)
	}
}

func dlqSourcePartition(t *testing.T, e *env) int32 {
	t.Helper()
	for p := range e.ends(e.topic) {
		return p
	}
	t.Fatal("source topic is empty")
	return -1
}

func headers(r *kgo.Record) map[string]string {
	m := make(map[string]string)
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func first(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func testTransientErrorIsRetried(t *testing.T, e *env) {
	id := newID()
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", id, "OrderCreated", "1"))
	var c calls
	r := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if err := insertEffect(ctx, tx, ev, ""); err != nil {
			return err
		}
		if c.add(ev.ID) <= 2 {
			// A real serialization failure from the server; the effect
			// above must roll back with it.
			_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$`)
			return err
		}
		return nil
	}))
	waitFor(t, 30*time.Second, "the event handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM inbox`) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := c.get(id); n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
	if n := e.count(`SELECT count(*) FROM effects`); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
	if n := e.records(e.topic + ".dlq"); n != 0 {
		t.Fatalf("dead-letter topic has %d records; the event should have succeeded", n)
	}
}

// testAbortedTransactionsAreSkipped writes one event in a committed producer
// transaction, one in an aborted one, then one without a transaction, all
// on one partition: the aborted event never reaches the handler
// (read_committed), the others take effect in order.
func testAbortedTransactionsAreSkipped(t *testing.T, e *env) {
	committed, aborted, plain := newID(), newID(), newID()
	txn := kafkatest.Client(t, e.addr, kgo.TransactionalID("txn."+e.id), kgo.DefaultProduceTopic(e.topic))
	for _, tx := range []struct {
		id  string
		end kgo.TransactionEndTry
	}{{committed, kgo.TryCommit}, {aborted, kgo.TryAbort}} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(t.Context(), event("order-1", tx.id, "OrderCreated", "1")).FirstErr(); err != nil {
			t.Fatalf("produce in transaction: %v", err)
		}
		if err := txn.EndTransaction(t.Context(), tx.end); err != nil {
			t.Fatalf("end transaction: %v", err)
		}
	}
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", plain, "OrderCreated", "3"))

	var c calls
	r := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		c.add(ev.ID)
		return insertEffect(ctx, tx, ev, "")
	}))
	waitFor(t, 30*time.Second, "the record after the transactions handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects WHERE event_id = $1`, plain) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := c.get(aborted); n != 0 {
		t.Fatalf("handler called %d times for the aborted event", n)
	}
	if n := c.get(committed); n != 1 {
		t.Fatalf("handler called %d times for the committed transaction's event, want 1", n)
	}
	var ids []string
	rows, err := e.pool.Query(t.Context(), `SELECT event_id::text FROM effects ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{committed, plain}; !slices.Equal(ids, want) {
		t.Fatalf("effects = %v, want %v", ids, want)
	}
}
