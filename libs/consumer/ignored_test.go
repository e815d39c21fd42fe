package consumer_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// ignoredAt are the 1-based positions, among mixedEvents, of the events of
// a type no handler takes: alone, in runs, first and last, so that batches
// hold them before, among and after the events they apply.
var ignoredAt = []int{1, 4, 5, 6, 8, 12, 17, 18, 19, 20, 25, 30}

const mixedEvents = 30

// mixed returns mixedEvents records of one key (so one partition, in
// order) with payloads 1..mixedEvents: OrderConfirmed at the positions in
// ignoredAt, OrderCreated elsewhere.
func mixed() (recs []*kgo.Record, handled, ignored []string) {
	for i := 1; i <= mixedEvents; i++ {
		id, typ := newID(), "OrderCreated"
		if slices.Contains(ignoredAt, i) {
			typ = "OrderConfirmed"
			ignored = append(ignored, id)
		} else {
			handled = append(handled, id)
		}
		recs = append(recs, event("order-1", id, typ, strconv.Itoa(i)))
	}
	return recs, handled, ignored
}

// TestIgnoredTypes checks Config.Types: events of other types are finished
// without a transaction (no inbox row, no validation, no handler), in
// their place among the others, which are processed once and in order;
// their offsets are committed, and they are counted and traced as
// ignored. Without Types every event goes through the inbox and Handler.
func TestIgnoredTypes(t *testing.T) {
	kfake := brokerKinds[0]
	for _, tc := range []struct {
		name string
		// backlog produces every record before the consumer starts, so
		// batches form; otherwise each is produced once the one before it
		// is finished.
		backlog bool
		// types sets Config.Types to the mux's.
		types bool
	}{
		{"backlog in batches", true, true},
		{"one at a time", false, true},
		{"without Types the inbox claims every event", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kfake.setup(t))
			group := e.group("payment")
			var reached, validated calls
			mux := consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
				return insertEffectInTx(ctx, tx, ev)
			}}
			cfg := e.config(group, func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
				reached.add(ev.ID)
				return mux.Handle(ctx, tx, ev)
			})
			cfg.Validate = func(ev consumer.Event) error { validated.add(ev.ID); return nil }
			if tc.types {
				cfg.Types = mux.Types()
			}
			cfg.BatchSize = 8
			reg := prometheus.NewRegistry()
			cfg.Metrics = consumer.NewMetrics(reg, mux.Types()...)
			spans := tracetest.NewSpanRecorder()
			cfg.Tracing = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

			events := func(reg *prometheus.Registry, typ, outcome string) float64 {
				v, _ := gathered(t, reg, "consumer_events_total",
					map[string]string{"group": group, "topic": e.topic, "type": typ, "outcome": outcome})
				return v
			}
			finished := func() float64 {
				return events(reg, "OrderCreated", consumer.OutcomeProcessed) +
					events(reg, consumer.OtherType, consumer.OutcomeProcessed) +
					events(reg, consumer.OtherType, consumer.OutcomeIgnored)
			}
			recs, handled, ignored := mixed()
			if tc.backlog {
				kafkatest.Produce(t, e.addr, e.topic, recs...)
			}
			r := e.start(cfg)
			if !tc.backlog {
				for i, rec := range recs {
					kafkatest.Produce(t, e.addr, e.topic, rec)
					waitFor(t, 30*time.Second, "record "+strconv.Itoa(i+1)+" finished", func() bool { return finished() == float64(i+1) })
				}
			}
			waitFor(t, 30*time.Second, "every record finished and committed", func() bool { return e.allCommitted(group, e.topic) })
			r.stop(t)

			ns, txs := e.effects()
			if want := seq(1, mixedEvents, ignoredAt...); !slices.Equal(ns, want) {
				t.Fatalf("effects %v, want %v once each in offset order", ns, want)
			}
			if tc.backlog && txs > len(handled)/2 {
				t.Errorf("%d queued events to apply took %d transactions with BatchSize 8, want batches (at most %d)", len(handled), txs, len(handled)/2)
			}
			for _, id := range handled {
				if reached.get(id) != 1 || validated.get(id) != 1 {
					t.Errorf("handled event %s: handler called %d times, validated %d times; want 1 and 1", id, reached.get(id), validated.get(id))
				}
			}
			wantIgnored, wantOther, wantCalls, wantRows, wantOutcome := len(ignored), 0, 0, 0, consumer.OutcomeIgnored
			if !tc.types {
				wantIgnored, wantOther, wantCalls, wantRows, wantOutcome = 0, len(ignored), 1, len(ignored), consumer.OutcomeProcessed
			}
			for _, id := range ignored {
				if reached.get(id) != wantCalls || validated.get(id) != wantCalls {
					t.Errorf("unhandled event %s: handler called %d times, validated %d times; want %d", id, reached.get(id), validated.get(id), wantCalls)
				}
			}
			for _, c := range []struct {
				what      string
				got, want int
			}{
				{"inbox rows of handled events", e.count(`SELECT count(*) FROM inbox WHERE event_type = 'OrderCreated'`), len(handled)},
				{"inbox rows of unhandled events", e.count(`SELECT count(*) FROM inbox WHERE event_type = 'OrderConfirmed'`), wantRows},
				{"processed events", int(events(reg, "OrderCreated", consumer.OutcomeProcessed)), len(handled)},
				{"ignored events", int(events(reg, consumer.OtherType, consumer.OutcomeIgnored)), wantIgnored},
				{"unhandled events processed", int(events(reg, consumer.OtherType, consumer.OutcomeProcessed)), wantOther},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
				}
			}

			// Every record has its consumer span; only those the handler
			// took have a "handle" span under it.
			records, handles := map[string]sdktrace.ReadOnlySpan{}, map[trace.SpanID]string{}
			for _, s := range spans.Ended() {
				switch s.SpanKind() {
				case trace.SpanKindConsumer:
					records[spanAttrs(s)["messaging.message.id"]] = s
				case trace.SpanKindInternal:
					handles[s.Parent().SpanID()] = s.Name()
				}
			}
			for _, id := range ignored {
				s := records[id]
				if s == nil {
					t.Errorf("unhandled event %s has no record span", id)
					continue
				}
				if got := spanAttrs(s)["consumer.outcome"]; got != wantOutcome {
					t.Errorf("unhandled event %s: consumer.outcome %q, want %q", id, got, wantOutcome)
				}
				if h, ok := handles[s.SpanContext().SpanID()]; ok == tc.types {
					t.Errorf("unhandled event %s: handle span %q present %v, want %v", id, h, ok, !tc.types)
				}
			}
			for _, id := range handled {
				if s := records[id]; s == nil || spanAttrs(s)["consumer.outcome"] != consumer.OutcomeProcessed || handles[s.SpanContext().SpanID()] != "handle OrderCreated" {
					t.Errorf("handled event %s: record span %v without outcome processed and a handle span", id, s)
				}
			}

			// The group's offsets are past every record: a consumer that
			// takes over redelivers none of them. The next record of the
			// partition is the only one it sees.
			before, dups := reached.total(), e.duplicates()
			reg2 := prometheus.NewRegistry()
			cfg.Metrics, cfg.Tracing = consumer.NewMetrics(reg2, mux.Types()...), nil
			e.start(cfg)
			next := newID()
			kafkatest.Produce(t, e.addr, e.topic, event("order-1", next, "OrderCreated", strconv.Itoa(mixedEvents+1)))
			waitFor(t, 30*time.Second, "the next record processed and committed", func() bool {
				return reached.get(next) == 1 && e.allCommitted(group, e.topic)
			})
			if got := reached.total() - before; got != 1 {
				t.Errorf("the restarted consumer called the handler %d times, want once (the next record only)", got)
			}
			if got := e.duplicates() - dups; got != 0 {
				t.Errorf("the restarted consumer skipped %d duplicates, want none redelivered", got)
			}
			if got := events(reg2, consumer.OtherType, consumer.OutcomeIgnored) + events(reg2, consumer.OtherType, consumer.OutcomeProcessed); got != 0 {
				t.Errorf("the restarted consumer finished %v unhandled events, want none redelivered", got)
			}
		})
	}
}
