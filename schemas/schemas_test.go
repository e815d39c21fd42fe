package schemas_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

const (
	orderID   = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"
	paymentID = "0193b6f2-8a02-7c11-b5e3-2d9a71f04c85"
)

var at = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// filled has one value of every event type with every field set, including
// those of nested items, so a field added to a struct but not to its schema
// (or the other way round) shows up in the round-trip and drift tests.
var filled = []events.Event{
	events.OrderCreated{
		OrderID: orderID, CustomerID: "cust-42", Currency: "EUR",
		Items:      []events.OrderItem{{SKU: "BOOK-0001", Quantity: 2, UnitPriceCents: 1250}},
		TotalCents: 2500, CreatedAt: at,
	},
	events.OrderConfirmed{OrderID: orderID, CustomerID: "cust-42", TotalCents: 2500, Currency: "EUR", ConfirmedAt: at},
	events.OrderCancelled{OrderID: orderID, CustomerID: "cust-42", Reason: "customer request", CancelledAt: at},
	events.PaymentCaptured{PaymentID: paymentID, OrderID: orderID, CustomerID: "cust-42", AmountCents: 2500, Currency: "EUR", CapturedAt: at},
	events.PaymentFailed{OrderID: orderID, CustomerID: "cust-42", AmountCents: 2500, Currency: "EUR", Reason: "card declined", FailedAt: at},
	events.PaymentRefunded{PaymentID: paymentID, OrderID: orderID, CustomerID: "cust-42", AmountCents: 2500, Currency: "EUR", RefundedAt: at},
	events.InventoryReserved{OrderID: orderID, Items: []events.StockItem{{SKU: "BOOK-0001", Quantity: 2}}, ReservedAt: at},
	events.InventoryRejected{
		OrderID: orderID, Reason: "insufficient stock",
		Shortages:  []events.Shortage{{SKU: "BOOK-0001", Requested: 2, Available: 1}},
		RejectedAt: at,
	},
	events.InventoryReleased{OrderID: orderID, Items: []events.StockItem{{SKU: "BOOK-0001", Quantity: 2}}, ReleasedAt: at},
}

var topics = map[string]string{
	events.AggregateOrder:     events.TopicOrder,
	events.AggregatePayment:   events.TopicPayment,
	events.AggregateInventory: events.TopicInventory,
}

func newRegistry(t testing.TB) *schemas.Registry {
	t.Helper()
	r, err := schemas.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// decode parses a schema document of the registry.
func decode(t *testing.T, eventType string) map[string]any {
	t.Helper()
	raw, ok := schemas.Schema(eventType)
	if !ok {
		t.Fatalf("no schema for %s", eventType)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", eventType, err)
	}
	return doc
}

func TestEverySchemaIsDocumentedAndValidatesItsExamples(t *testing.T) {
	r := newRegistry(t)
	ids := map[string]string{}
	for _, typ := range r.Types() {
		t.Run(typ, func(t *testing.T) {
			doc := decode(t, typ)
			if doc["$schema"] != schemas.Draft {
				t.Errorf("$schema = %v, want %s", doc["$schema"], schemas.Draft)
			}
			id, _ := doc["$id"].(string)
			if !strings.HasPrefix(id, "https://github.com/outboxcdc/outboxcdc/schemas/") || !strings.HasSuffix(id, "/"+fileName(typ)) {
				t.Errorf("$id = %q does not follow the naming scheme", id)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("$id %s also used by %s", id, other)
			}
			ids[id] = typ
			for _, kw := range []string{"title", "description"} {
				if s, _ := doc[kw].(string); s == "" {
					t.Errorf("no %s", kw)
				}
			}
			if doc["additionalProperties"] != true {
				t.Errorf("additionalProperties = %v, want true", doc["additionalProperties"])
			}
			examples, _ := doc["examples"].([]any)
			if len(examples) == 0 {
				t.Fatal("no examples")
			}
			for i, ex := range examples {
				b, err := json.Marshal(ex)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Validate(typ, b); err != nil {
					t.Errorf("examples[%d]: %v", i, err)
				}
			}
		})
	}
}

// fileName is the inverse of schemas.TypeOf.
func fileName(eventType string) string {
	if strings.Contains(eventType, ".v") {
		return eventType + ".json"
	}
	return eventType + ".v1.json"
}

func TestTypesMatchGoEvents(t *testing.T) {
	var want []string
	for _, e := range filled {
		want = append(want, e.EventType())
	}
	slices.Sort(want)
	if got := schemas.Types(); !slices.Equal(got, want) {
		t.Fatalf("Types() = %q, want %q", got, want)
	}
	for _, e := range filled {
		doc := decode(t, e.EventType())
		if id, _ := doc["$id"].(string); !strings.HasSuffix(id, "/"+e.AggregateType()+"/"+fileName(e.EventType())) {
			t.Errorf("%s: $id %s is not under its aggregate %s", e.EventType(), id, e.AggregateType())
		}
		if e.AggregateID() != orderID {
			t.Errorf("%s: AggregateID = %q, want the order id", e.EventType(), e.AggregateID())
		}
		if got := events.Topic(e.AggregateType()); got != topics[e.AggregateType()] {
			t.Errorf("%s: Topic(%s) = %s, want %s", e.EventType(), e.AggregateType(), got, topics[e.AggregateType()])
		}
	}
}

func TestGoTypesRoundTrip(t *testing.T) {
	for _, e := range filled {
		t.Run(e.EventType(), func(t *testing.T) {
			if zero := zeroFields(reflect.ValueOf(e), ""); len(zero) > 0 {
				t.Fatalf("test value leaves fields unset: %v", zero)
			}
			payload, err := schemas.Marshal(e)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back := reflect.New(reflect.TypeOf(e))
			if err := json.Unmarshal(payload, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if got := back.Elem().Interface(); !reflect.DeepEqual(got, e) {
				t.Errorf("round trip changed the value:\n got %#v\nwant %#v", got, e)
			}
		})
	}
}

// TestSchemaMatchesGoStruct catches drift: every struct field is a
// property and required, and every property is a struct field, recursing
// into array items.
func TestSchemaMatchesGoStruct(t *testing.T) {
	for _, e := range filled {
		t.Run(e.EventType(), func(t *testing.T) {
			for _, problem := range drift(decode(t, e.EventType()), reflect.TypeOf(e), "") {
				t.Errorf("%s: %s", e.EventType(), problem)
			}
		})
	}
}

func drift(schema map[string]any, typ reflect.Type, path string) []string {
	var out []string
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	req, _ := schema["required"].([]any)
	for _, r := range req {
		if name, ok := r.(string); ok {
			required[name] = true
		}
	}
	fields := map[string]bool{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		p := join(path, name)
		fields[name] = true
		prop, ok := props[name].(map[string]any)
		if !ok {
			out = append(out, p+": Go field "+f.Name+" has no schema property")
			continue
		}
		if !required[name] {
			out = append(out, p+": not required in the schema")
		}
		if want := jsonType(f.Type); prop["type"] != want {
			out = append(out, p+": schema type "+prop["type"].(string)+", Go type marshals to "+want)
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			items, _ := prop["items"].(map[string]any)
			out = append(out, drift(items, f.Type.Elem(), p+"[]")...)
		}
	}
	for name := range props {
		if !fields[name] {
			out = append(out, join(path, name)+": schema property has no Go field")
		}
	}
	for name := range required {
		if !fields[name] {
			out = append(out, join(path, name)+": required in the schema but no Go field")
		}
	}
	slices.Sort(out)
	return out
}

func jsonType(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Time](), t.Kind() == reflect.String:
		return "string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Slice:
		return "array"
	case t.Kind() == reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

// zeroFields lists the unset fields of a struct value, recursing into
// slices of structs.
func zeroFields(v reflect.Value, path string) []string {
	var out []string
	for i := range v.NumField() {
		f, p := v.Field(i), join(path, v.Type().Field(i).Name)
		if f.IsZero() || f.Kind() == reflect.Slice && f.Len() == 0 {
			out = append(out, p)
			continue
		}
		if f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct {
			for j := range f.Len() {
				out = append(out, zeroFields(f.Index(j), p+"[]")...)
			}
		}
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// validOrder is a valid OrderCreated payload the rejection cases edit.
const validOrder = `{"orderId":"0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10","customerId":"cust-42","currency":"EUR",` +
	`"items":[{"sku":"BOOK-0001","quantity":2,"unitPriceCents":1250}],"totalCents":2500,"createdAt":"2026-03-14T09:26:53Z"}`

func TestValidateRejects(t *testing.T) {
	r := newRegistry(t)
	if err := r.Validate(events.TypeOrderCreated, []byte(validOrder)); err != nil {
		t.Fatalf("the base payload must be valid: %v", err)
	}
	edit := func(old, cur string) string {
		if strings.Count(validOrder, old) != 1 {
			t.Fatalf("edit %q does not apply exactly once", old)
		}
		return strings.Replace(validOrder, old, cur, 1)
	}
	tests := []struct {
		name      string
		eventType string
		payload   string
		// where names the instance location the problem must mention.
		where string
	}{
		{"missing required field", events.TypeOrderCreated, edit(`"customerId":"cust-42",`, ``), "customerId"},
		{"wrong type", events.TypeOrderCreated, edit(`"totalCents":2500`, `"totalCents":"2500"`), "/totalCents"},
		{"fractional cents", events.TypeOrderCreated, edit(`"totalCents":2500`, `"totalCents":25.5`), "/totalCents"},
		{"negative cents", events.TypeOrderCreated, edit(`"unitPriceCents":1250`, `"unitPriceCents":-1`), "/items/0/unitPriceCents"},
		{"quantity 0", events.TypeOrderCreated, edit(`"quantity":2`, `"quantity":0`), "/items/0/quantity"},
		{"empty items", events.TypeOrderCreated, edit(`[{"sku":"BOOK-0001","quantity":2,"unitPriceCents":1250}]`, `[]`), "/items"},
		{"null items", events.TypeOrderCreated, edit(`[{"sku":"BOOK-0001","quantity":2,"unitPriceCents":1250}]`, `null`), "/items"},
		{"item missing sku", events.TypeOrderCreated, edit(`"sku":"BOOK-0001",`, ``), "/items/0"},
		{"empty sku", events.TypeOrderCreated, edit(`"sku":"BOOK-0001"`, `"sku":""`), "/items/0/sku"},
		{"sku too long", events.TypeOrderCreated, edit(`"sku":"BOOK-0001"`, `"sku":"`+strings.Repeat("S", 65)+`"`), "/items/0/sku"},
		{"lower-case currency", events.TypeOrderCreated, edit(`"currency":"EUR"`, `"currency":"eur"`), "/currency"},
		{"four-letter currency", events.TypeOrderCreated, edit(`"currency":"EUR"`, `"currency":"EURO"`), "/currency"},
		{"empty customer", events.TypeOrderCreated, edit(`"customerId":"cust-42"`, `"customerId":""`), "/customerId"},
		{"customer too long", events.TypeOrderCreated, edit(`"customerId":"cust-42"`, `"customerId":"`+strings.Repeat("c", 101)+`"`), "/customerId"},
		{"order id not a uuid", events.TypeOrderCreated, edit(orderID, "order-1"), "/orderId"},
		{"time not RFC 3339", events.TypeOrderCreated, edit(`"2026-03-14T09:26:53Z"`, `"14/03/2026 09:26"`), "/createdAt"},
		{"not an object", events.TypeOrderCreated, `[1,2]`, "''"},
		{"not JSON", events.TypeOrderCreated, `{"orderId":`, "not JSON"},
		{"trailing data", events.TypeOrderCreated, validOrder + `{}`, "not JSON"},
		{"empty reason", events.TypeOrderCancelled, `{"orderId":"` + orderID + `","customerId":"c","reason":"","cancelledAt":"2026-03-14T09:26:53Z"}`, "/reason"},
		{"empty shortages", events.TypeInventoryRejected, `{"orderId":"` + orderID + `","reason":"r","shortages":[],"rejectedAt":"2026-03-14T09:26:53Z"}`, "/shortages"},
		{"missing payment id", events.TypePaymentCaptured, `{"orderId":"` + orderID + `","customerId":"c","amountCents":1,"currency":"USD","capturedAt":"2026-03-14T09:26:53Z"}`, "paymentId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Validate(tt.eventType, []byte(tt.payload))
			if !errors.Is(err, schemas.ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			if errors.Is(err, schemas.ErrUnknownType) {
				t.Errorf("%v also wraps ErrUnknownType", err)
			}
			var ie *schemas.InvalidError
			if !errors.As(err, &ie) || ie.EventType != tt.eventType || len(ie.Problems) == 0 {
				t.Fatalf("error %v does not carry an InvalidError for %s", err, tt.eventType)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("error %q does not mention %q", err, tt.where)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestValidateBoundsProblems(t *testing.T) {
	items := strings.Repeat(`{"sku":"","quantity":0,"unitPriceCents":-1},`, 5)
	payload := strings.Replace(validOrder, `[{"sku"`, `[`+items+`{"sku"`, 1)
	var ie *schemas.InvalidError
	if err := schemas.Validate(events.TypeOrderCreated, []byte(payload)); !errors.As(err, &ie) {
		t.Fatalf("Validate = %v, want an InvalidError", err)
	}
	if len(ie.Problems) != 9 || ie.Problems[8] != "and 7 more" {
		t.Fatalf("15 problems reported as %q, want 8 and a count", ie.Problems)
	}
	if !slices.IsSorted(ie.Problems[:8]) {
		t.Errorf("problems not sorted: %q", ie.Problems)
	}
}

func TestValidateAcceptsAdditionalProperties(t *testing.T) {
	payload := strings.Replace(validOrder, `"quantity":2`, `"quantity":2,"giftWrap":true`, 1)
	payload = strings.Replace(payload, `"totalCents"`, `"channel":"web","totalCents"`, 1)
	if err := schemas.Validate(events.TypeOrderCreated, []byte(payload)); err != nil {
		t.Fatalf("a payload with added optional properties must stay valid: %v", err)
	}
}

func TestValidateUnknownType(t *testing.T) {
	for _, typ := range []string{"", "OrderShipped", "OrderCreated.v1", "orderCreated"} {
		err := schemas.Validate(typ, []byte(validOrder))
		if !errors.Is(err, schemas.ErrUnknownType) || errors.Is(err, schemas.ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want ErrUnknownType only", typ, err)
		}
	}
	if raw, ok := schemas.Schema("OrderShipped"); ok || raw != nil {
		t.Errorf("Schema(OrderShipped) = %q, %v", raw, ok)
	}
}

func TestSchemaReturnsACopy(t *testing.T) {
	a, _ := schemas.Schema(events.TypeOrderCreated)
	clear(a)
	b, _ := schemas.Schema(events.TypeOrderCreated)
	if !json.Valid(b) {
		t.Fatal("writing to a returned schema changed the registry's copy")
	}
	types := schemas.Types()
	types[0] = "changed"
	if schemas.Types()[0] == "changed" {
		t.Fatal("writing to Types() changed the registry")
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		file, want string
		ok         bool
	}{
		{"OrderCreated.v1.json", "OrderCreated", true},
		{"OrderCreated.v2.json", "OrderCreated.v2", true},
		{"OrderCreated.v12.json", "OrderCreated.v12", true},
		{"OrderCreated.json", "", false},
		{"OrderCreated.v0.json", "", false},
		{"OrderCreated.v01.json", "", false},
		{"OrderCreated.vx.json", "", false},
		{"OrderCreated.v1.examples.json", "", false},
		{".v1.json", "", false},
		{"OrderCreated.v1.yaml", "", false},
	}
	for _, tt := range tests {
		got, err := schemas.TypeOf(tt.file)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("TypeOf(%q) = %q, %v; want %q, ok=%v", tt.file, got, err, tt.want, tt.ok)
		}
	}
}

// TestValidateConcurrently runs under the race detector in CI: producers
// and consumers share one registry across goroutines.
func TestValidateConcurrently(t *testing.T) {
	r := newRegistry(t)
	payloads := make([][]byte, len(filled))
	for i, e := range filled {
		b, err := r.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		payloads[i] = b
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(filled))
	for range 8 {
		wg.Go(func() {
			for i, e := range filled {
				errs <- r.Validate(e.EventType(), payloads[i])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestMarshalRejectsInvalidEvent(t *testing.T) {
	e := events.InventoryReserved{OrderID: orderID, ReservedAt: at} // nil Items marshals to null
	if _, err := schemas.Marshal(e); !errors.Is(err, schemas.ErrInvalid) {
		t.Fatalf("Marshal = %v, want ErrInvalid", err)
	}
}

func BenchmarkValidate(b *testing.B) {
	r := newRegistry(b)
	payload := []byte(validOrder)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Validate(events.TypeOrderCreated, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		newRegistry(b)
	}
}
