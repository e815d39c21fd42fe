package outbox_test

import (
	"slices"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
)

// TestAppendNamesItsEventsOnTheSpan checks that the business transaction's
// span lists the events written, and that the rows carry that span on.
func TestAppendNamesItsEventsOnTheSpan(t *testing.T) {
	conn := setup(t)
	rec := tracetest.NewSpanRecorder()
	ctx, span := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(t.Context(), "place order")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := []outbox.Event{event("o-1"), event("o-2")}
	events[1].Type = "OrderConfirmed"
	if err := outbox.Append(ctx, tx, events...); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	span.End()

	got := map[string][]string{}
	for _, kv := range rec.Ended()[0].Attributes() {
		got[string(kv.Key)] = kv.Value.AsStringSlice()
	}
	wantIDs := []string{events[0].ID.String(), events[1].ID.String()}
	if !slices.Equal(got["outbox.event_ids"], wantIDs) || !slices.Equal(got["outbox.event_types"], []string{"OrderCreated", "OrderConfirmed"}) {
		t.Errorf("span attributes %v, want ids %v and types [OrderCreated OrderConfirmed]", got, wantIDs)
	}
	var tp string
	if err := conn.QueryRow(t.Context(), `SELECT traceparent FROM outbox WHERE id = $1`, events[0].ID).Scan(&tp); err != nil {
		t.Fatal(err)
	}
	if want := tracecontext.TraceParent(trace.ContextWithSpanContext(t.Context(), span.SpanContext())); tp != want {
		t.Errorf("row's traceparent %q, want the span's %q", tp, want)
	}
}
