package consumer_test

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// gathered returns the value of the counter or gauge, or the sample count of
// the histogram, of family name whose labels are exactly labels (0 when
// there is none), and whether there is one.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if !maps.Equal(got, labels) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// testMetricsCountOutcomesAndLagReachesZero runs one partition through
// every outcome (processed, duplicate, dead-lettered, retried, an unknown
// type) and producer transactions, one committed and one aborted, so the
// partition ends with transaction markers; then the counters say what
// happened and the lag, like the committed offset, reaches the end.
func testMetricsCountOutcomesAndLagReachesZero(t *testing.T, e *env) {
	ok, poison, flaky, unknown, inTxn, aborted := newID(), newID(), newID(), newID(), newID(), newID()
	kafkatest.Produce(t, e.addr, e.topic,
		event("order-1", ok, "OrderCreated", "1"),
		event("order-1", ok, "OrderCreated", "1"), // a duplicate
		event("order-1", poison, "Poison", "2"),
		event("order-1", flaky, "Flaky", "3"),
		event("order-1", unknown, "Unknown", "4"),
	)
	txn := kafkatest.Client(t, e.addr, kgo.TransactionalID("txn."+e.id), kgo.DefaultProduceTopic(e.topic))
	for _, tx := range []struct {
		id  string
		end kgo.TransactionEndTry
	}{{inTxn, kgo.TryCommit}, {aborted, kgo.TryAbort}} {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(t.Context(), event("order-1", tx.id, "OrderCreated", "5")).FirstErr(); err != nil {
			t.Fatalf("produce in transaction: %v", err)
		}
		if err := txn.EndTransaction(t.Context(), tx.end); err != nil {
			t.Fatalf("end transaction: %v", err)
		}
	}

	var c calls
	reg := prometheus.NewRegistry()
	group := e.group("payment")
	cfg := e.config(group, consumer.Mux{
		"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			c.add(ev.ID)
			return insertEffect(ctx, tx, ev, "")
		},
		"Poison": func(context.Context, pgx.Tx, consumer.Event) error {
			return consumer.Permanent(errors.New("never valid"))
		},
		"Flaky": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			if c.add(ev.ID) <= 2 {
				return errors.New("upstream down for a moment")
			}
			return insertEffect(ctx, tx, ev, "")
		},
	}.Handle)
	cfg.Metrics = consumer.NewMetrics(reg, "Flaky", "OrderCreated", "Poison")
	// One transaction per record, so every handler call counted is one the
	// test expects; a batch rolled back by the poison record would call the
	// others once more.
	cfg.BatchSize = 1
	r := e.start(cfg)

	partition := strconv.Itoa(int(dlqSourcePartition(t, e)))
	lag := map[string]string{"group": group, "topic": e.topic, "partition": partition}
	waitFor(t, 30*time.Second, "every record finished: lag 0 and the end offset committed", func() bool {
		v, ok := gathered(t, reg, "consumer_lag", lag)
		return ok && v == 0 && e.allCommitted(group, e.topic)
	})

	events := func(typ, outcome string) map[string]string {
		return map[string]string{"group": group, "topic": e.topic, "type": typ, "outcome": outcome}
	}
	handled := func(typ string) map[string]string {
		return map[string]string{"group": group, "topic": e.topic, "type": typ}
	}
	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"processed", "consumer_events_total", events("OrderCreated", consumer.OutcomeProcessed), 2},
		{"duplicate", "consumer_events_total", events("OrderCreated", consumer.OutcomeDuplicate), 1},
		{"dead-lettered", "consumer_events_total", events("Poison", consumer.OutcomeDeadLettered), 1},
		{"retried twice", "consumer_events_total", events("Flaky", consumer.OutcomeRetried), 2},
		{"processed after retries", "consumer_events_total", events("Flaky", consumer.OutcomeProcessed), 1},
		{"unknown type as other", "consumer_events_total", events(consumer.OtherType, consumer.OutcomeProcessed), 1},
		{"handler calls of new events", "consumer_handler_duration_seconds", handled("OrderCreated"), 2},
		{"every attempt timed", "consumer_handler_duration_seconds", handled("Flaky"), 3},
		{"failed calls timed", "consumer_handler_duration_seconds", handled("Poison"), 1},
		{"lag after transaction markers", "consumer_lag", lag, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := gathered(t, reg, tc.metric, tc.labels); !ok || got != tc.want {
				t.Errorf("%s%v = %v (present %v), want %v", tc.metric, tc.labels, got, ok, tc.want)
			}
		})
	}
	if n := c.get(aborted); n != 0 {
		t.Errorf("handler called %d times for the aborted transaction's event", n)
	}
	if n := e.count(`SELECT count(*) FROM effects`); n != 3 {
		t.Errorf("effects = %d, want 3 (ok, flaky, the committed transaction's)", n)
	}
	if _, ok := gathered(t, reg, "consumer_events_total", events("Unknown", consumer.OutcomeProcessed)); ok {
		t.Error("an unknown event type became a label value")
	}

	r.stop(t)
	if _, ok := gathered(t, reg, "consumer_lag", lag); ok {
		t.Error("consumer_lag still reported for a partition the stopped consumer no longer owns")
	}
}
