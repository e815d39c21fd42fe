package consumer_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// TestRecordSpans checks the spans of a processed, a duplicate and a
// dead-lettered record: the consumer span continues the writer's trace,
// the handler's span is its child and is what the handler's outbox writes
// would carry on.
func TestRecordSpans(t *testing.T) {
	e := newEnv(t, brokerKinds[0].setup(t)) // kfake
	const writer = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ok, poison := newID(), newID()
	withParent := event("order-1", ok, "OrderCreated", "1")
	withParent.Headers = append(withParent.Headers, kgo.RecordHeader{Key: "traceparent", Value: []byte(writer)})
	kafkatest.Produce(t, e.addr, e.topic,
		withParent,
		event("order-1", ok, "OrderCreated", "1"), // a duplicate, no traceparent
		event("order-1", poison, "Poison", "2"),
	)

	rec := tracetest.NewSpanRecorder()
	var mu sync.Mutex
	var seen string // the traceparent the handler's writes would carry
	cfg := e.config(e.group("payment"), consumer.Mux{
		"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			tracing.SetOrderID(ctx, ev.Key)
			mu.Lock()
			seen = tracecontext.TraceParent(ctx)
			mu.Unlock()
			return insertEffect(ctx, tx, ev, "")
		},
		"Poison": func(context.Context, pgx.Tx, consumer.Event) error {
			return consumer.Permanent(errors.New("never valid"))
		},
	}.Handle)
	cfg.Tracing = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg.BatchSize = 1 // one span per record; TestBatches covers the spans of a batch
	e.start(cfg)

	records := func() []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.SpanKind() == trace.SpanKindConsumer {
				out = append(out, s)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "three record spans ended", func() bool { return len(records()) == 3 })

	byOffset := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range records() {
		byOffset[spanAttrs(s)["messaging.kafka.offset"]] = s
	}
	first, dup, dead := byOffset["0"], byOffset["1"], byOffset["2"]
	if first == nil || dup == nil || dead == nil {
		t.Fatalf("record spans by offset: %v", byOffset)
	}
	handlers := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindInternal {
			handlers[s.Parent().SpanID()] = s
		}
	}

	t.Run("processed record continues the writer's trace", func(t *testing.T) {
		a := spanAttrs(first)
		want := map[attribute.Key]string{
			"messaging.system": "kafka", "messaging.destination.name": e.topic, "messaging.message.id": ok,
			"event.type": "OrderCreated", "consumer.outcome": "processed", "messaging.kafka.message.key": "order-1",
			"messaging.consumer.group.name": e.group("payment"), "order.id": "order-1",
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("%s = %q, want %q", k, a[k], v)
			}
		}
		if first.Name() != "process "+e.topic {
			t.Errorf("name %q", first.Name())
		}
		if !first.Parent().IsRemote() || first.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
			first.Parent().SpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("parent %v, want the writer's span from the traceparent header", first.Parent())
		}
		h := handlers[first.SpanContext().SpanID()]
		if h == nil || h.Name() != "handle OrderCreated" {
			t.Fatalf("no handle span under the record's span")
		}
		if spanAttrs(h)["order.id"] != "order-1" {
			t.Errorf("handler span lacks order.id")
		}
		mu.Lock()
		defer mu.Unlock()
		if want := tracecontext.TraceParent(trace.ContextWithSpanContext(t.Context(), h.SpanContext())); seen != want {
			t.Errorf("handler's outbox traceparent %q, want its own span's %q", seen, want)
		}
	})
	t.Run("duplicate is marked and runs no handler", func(t *testing.T) {
		if got := spanAttrs(dup)["consumer.outcome"]; got != "duplicate" {
			t.Errorf("outcome %q", got)
		}
		if handlers[dup.SpanContext().SpanID()] != nil {
			t.Error("a handler span under a duplicate")
		}
		if dup.Parent().IsValid() {
			t.Errorf("a record without traceparent has parent %v, want a new trace", dup.Parent())
		}
	})
	t.Run("dead-lettered record is an error", func(t *testing.T) {
		if got := spanAttrs(dead)["consumer.outcome"]; got != "dead_lettered" {
			t.Errorf("outcome %q", got)
		}
		if dead.Status().Code != codes.Error {
			t.Errorf("status %v, want error", dead.Status())
		}
		h := handlers[dead.SpanContext().SpanID()]
		if h == nil || h.Status().Code != codes.Error {
			t.Errorf("handler span %v, want one with error status", h)
		}
	})
}
