package waterfall

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The fixtures are answers of Jaeger's GET /api/traces, shaped as Jaeger
// v1.75.0 writes them (internal/uimodel), for three sagas:
//
//   - cancelled-refund.json: the payment captured, the stock short
//     (InventoryRejected), the order cancelled, the payment refunded, the
//     inventory service with nothing to release; and a later GET
//     /orders/{id}, a trace of its own.
//   - cancelled-release.json: the payment failed, the stock reserved, the
//     order cancelled, the stock released after a first attempt failed
//     (a serialization failure, retried); the payment service got
//     OrderCancelled twice (a redelivery, skipped as a duplicate).
//   - confirmed.json: both succeeded, the order confirmed, the reservation
//     committed.
//
// The spans are those libs/httpserver, libs/consumer and the services
// record: a "handle <type>" span under every consumed record's span that
// was new to its group, even for a type the group ignores (without
// order.id then), outbox.event_ids and outbox.event_types only on spans
// that wrote events.
const (
	fixtureRefund    = "cancelled-refund.json"
	fixtureRelease   = "cancelled-release.json"
	fixtureConfirmed = "confirmed.json"
)

// loadAnswer decodes testdata/name.
func loadAnswer(t testing.TB, name string) *Answer {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := DecodeAnswer(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

// loadTrace returns the trace Pick takes from testdata/name.
func loadTrace(t testing.TB, name string) *Trace {
	t.Helper()
	tr := Pick(loadAnswer(t, name).Data)
	if tr == nil {
		t.Fatalf("%s: no trace", name)
	}
	return tr
}

// span returns the span of tr with id.
func span(t testing.TB, tr *Trace, id string) *Span {
	t.Helper()
	for i := range tr.Spans {
		if tr.Spans[i].SpanID == id {
			return &tr.Spans[i]
		}
	}
	t.Fatalf("trace %s has no span %s", tr.TraceID, id)
	return nil
}

func TestTagText(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"string", `"POST"`, "POST"},
		{"int64", `117`, "117"},
		{"int64 beyond 2^53 comes as a string", `"9223372036854775222"`, "9223372036854775222"},
		{"bool", `true`, "true"},
		{"float64", `72.5`, "72.5"},
		{"array attribute", `"[\"a\",\"b\"]"`, `["a","b"]`},
		{"escaped string", `"<b>\u0026"`, "<b>&"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Tag{Value: json.RawMessage(tc.value)}).Text(); got != tc.want {
				t.Errorf("Text() of %s = %q, want %q", tc.value, got, tc.want)
			}
		})
	}
}

// TestFixtureSpans reads the fixtures' spans through the accessors the
// layout uses.
func TestFixtureSpans(t *testing.T) {
	tr := loadTrace(t, fixtureRefund)
	consumer := span(t, tr, "c3d2e5f4a6b70839")
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"trace", tr.TraceID, "7f3a9c2e5b1d4e8fa6c0b2d4e6f81a3c"},
		{"spans", len(tr.Spans), 16},
		{"service", tr.Service(consumer), "payment-service"},
		{"parent", consumer.Parent(), "b2e1d4c3f5a60728"},
		{"root has no parent", span(t, tr, "a1f0c3d2e4b50617").Parent(), ""},
		{"kind", consumer.TagString("span.kind"), "consumer"},
		{"partition", consumer.TagString("messaging.destination.partition.id"), "1"},
		{"start", consumer.Start().Format("15:04:05.000000"), "10:21:07.450965"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if off, ok := consumer.TagInt("messaging.kafka.offset"); !ok || off != 117 {
		t.Errorf("offset = %d, %v; want 117", off, ok)
	}
	if _, ok := consumer.TagInt("messaging.destination.name"); ok {
		t.Error("TagInt read a topic name as a number")
	}
	handler := span(t, tr, "d4e3f6a5b7c8094a")
	if got := handler.TagStrings("outbox.event_types"); !slices.Equal(got, []string{"PaymentCaptured"}) {
		t.Errorf("outbox.event_types = %q", got)
	}
	if got := handler.TagStrings("order.id"); got != nil {
		t.Errorf("TagStrings of a plain string = %q, want nil", got)
	}
}
