package sagatest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// span is what the checks read of a recorded span.
type span struct {
	s       sdktrace.ReadOnlySpan
	service string
	attrs   map[string]string
	lists   map[string][]string
}

func (s *stack) traceOf(orderID string) (map[trace.SpanID]span, bool) {
	var id trace.TraceID
	all := s.spans.Ended()
	for _, sp := range all {
		if sp.Name() == "place order" && attrsOf(sp).attrs["order.id"] == orderID {
			id = sp.SpanContext().TraceID()
		}
	}
	if !id.IsValid() {
		return nil, false
	}
	out := map[trace.SpanID]span{}
	for _, sp := range all {
		if sp.SpanContext().TraceID() == id {
			out[sp.SpanContext().SpanID()] = attrsOf(sp)
		}
	}
	return out, true
}

func attrsOf(sp sdktrace.ReadOnlySpan) span {
	out := span{s: sp, attrs: map[string]string{}, lists: map[string][]string{}}
	for _, kv := range sp.Resource().Attributes() {
		if kv.Key == "service.name" {
			out.service = kv.Value.AsString()
		}
	}
	for _, kv := range sp.Attributes() {
		out.attrs[string(kv.Key)] = kv.Value.Emit()
		if kv.Value.Type().String() == "STRINGSLICE" {
			out.lists[string(kv.Key)] = kv.Value.AsStringSlice()
		}
	}
	return out
}

// checkTrace waits until the order's trace holds its whole saga, up to
// order-service consuming the event written last (last), then checks its
// shape: the POST is the one root; every parent is in the trace; every
// consumed record's span is the child of the span, in another service,
// that wrote its event (the Kafka hop, asynchronous, keeps the trace); all
// three services take part; and the compensation (the handling of
// OrderCancelled that wrote compensation) is in the same trace.
func (s *stack) checkTrace(t *testing.T, orderID, cancelled, compensation string) {
	t.Helper()
	var spans map[trace.SpanID]span
	eventually(t, 30*time.Second, "the order's trace complete", func() (bool, string) {
		var ok bool
		spans, ok = s.traceOf(orderID)
		if !ok {
			return false, "no place order span"
		}
		for _, sp := range spans {
			if sp.service == "order-service" && sp.s.SpanKind() == trace.SpanKindConsumer && sp.attrs["event.type"] == compensation {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d spans", len(spans))
	})

	var roots []string
	services := map[string]bool{}
	compensated := false
	for _, sp := range spans {
		services[sp.service] = true
		name := sp.service + " " + sp.s.Name()
		if !sp.s.Parent().IsValid() {
			roots = append(roots, name)
			continue
		}
		parent, ok := spans[sp.s.Parent().SpanID()]
		if !ok {
			t.Errorf("%s: parent %s not in the trace", name, sp.s.Parent().SpanID())
			continue
		}
		if sp.s.SpanKind() == trace.SpanKindConsumer {
			if parent.service == sp.service {
				t.Errorf("%s: parent %s in the same service, want the writer's across the hop", name, parent.s.Name())
			}
			if !slices.Contains(parent.lists["outbox.event_ids"], sp.attrs["messaging.message.id"]) {
				t.Errorf("%s (event %s %s): parent %s %s wrote %v, not this event", name, sp.attrs["event.type"],
					sp.attrs["messaging.message.id"], parent.service, parent.s.Name(), parent.lists["outbox.event_ids"])
			}
		}
		if sp.service == "payment-service" && sp.s.Name() == "handle "+cancelled &&
			slices.Contains(sp.lists["outbox.event_types"], compensation) {
			compensated = true
		}
	}
	if len(roots) != 1 || roots[0] != "order-service POST /orders" {
		t.Errorf("roots %v, want the one order-service POST /orders", roots)
	}
	for _, want := range []string{"order-service", "payment-service", "inventory-service"} {
		if !services[want] {
			t.Errorf("no span of %s in the trace (services %v)", want, services)
		}
	}
	if !compensated {
		t.Errorf("no payment-service span handling %s and writing %s in the trace", cancelled, compensation)
	}
}
