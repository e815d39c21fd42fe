package order

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Ids of the orders' own OrderCreated events.
var (
	ev1 = uuid.MustParse("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85")
	ev2 = uuid.MustParse("0193b6f2-8a02-7c11-b5e3-2d9a71f04c86")
)

// eventID is the id of the event a test names by label.
func eventID(label string) uuid.UUID { return uuid.NewSHA1(uuid.Nil, []byte(label)) }

func validOrder() NewOrder {
	return NewOrder{CustomerID: "cust-42", Currency: "EUR", Items: []Item{
		{SKU: "BOOK-0001", Quantity: 2, UnitPriceCents: 1250},
		{SKU: "PEN-0007", Quantity: 1, UnitPriceCents: 399},
	}}
}

func TestValidate(t *testing.T) {
	many := make([]Item, MaxItems+1)
	for i := range many {
		many[i] = Item{SKU: "S", Quantity: 1}
	}
	tests := []struct {
		name   string
		change func(*NewOrder)
		fields []string // invalid fields expected, nil for valid
	}{
		{"valid", func(*NewOrder) {}, nil},
		{"free items", func(n *NewOrder) { n.Items[0].UnitPriceCents = 0 }, nil},
		{"customer missing", func(n *NewOrder) { n.CustomerID = "" }, []string{"customerId"}},
		{"customer blank", func(n *NewOrder) { n.CustomerID = "  " }, []string{"customerId"}},
		{"customer at limit", func(n *NewOrder) { n.CustomerID = strings.Repeat("é", MaxCustomerIDLen) }, nil},
		{"customer too long", func(n *NewOrder) { n.CustomerID = strings.Repeat("c", MaxCustomerIDLen+1) }, []string{"customerId"}},
		{"currency lower", func(n *NewOrder) { n.Currency = "eur" }, []string{"currency"}},
		{"currency short", func(n *NewOrder) { n.Currency = "EU" }, []string{"currency"}},
		{"currency missing", func(n *NewOrder) { n.Currency = "" }, []string{"currency"}},
		{"no items", func(n *NewOrder) { n.Items = nil }, []string{"items"}},
		{"too many items", func(n *NewOrder) { n.Items = many }, []string{"items"}},
		{"sku missing", func(n *NewOrder) { n.Items[1].SKU = "" }, []string{"items[1].sku"}},
		{"sku too long", func(n *NewOrder) { n.Items[0].SKU = strings.Repeat("S", MaxSKULen+1) }, []string{"items[0].sku"}},
		{"zero quantity", func(n *NewOrder) { n.Items[0].Quantity = 0 }, []string{"items[0].quantity"}},
		{"negative quantity", func(n *NewOrder) { n.Items[1].Quantity = -3 }, []string{"items[1].quantity"}},
		{"quantity too big", func(n *NewOrder) { n.Items[0].Quantity = MaxQuantity + 1 }, []string{"items[0].quantity"}},
		{"negative price", func(n *NewOrder) { n.Items[0].UnitPriceCents = -1 }, []string{"items[0].unitPriceCents"}},
		{"total overflows", func(n *NewOrder) { n.Items[0].UnitPriceCents = MaxTotalCents / 2 }, []string{"items"}},
		{"several at once", func(n *NewOrder) { n.CustomerID, n.Currency, n.Items[0].Quantity = "", "x", 0 },
			[]string{"customerId", "currency", "items[0].quantity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := validOrder()
			tt.change(&n)
			err := n.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *validation.Error
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want *validation.Error", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("invalid fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a, b := validOrder(), validOrder()
	if a.Fingerprint() != b.Fingerprint() {
		t.Fatal("equal requests have different fingerprints")
	}
	b.Items[1].Quantity++
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("different requests share a fingerprint")
	}
}

func TestPlace(t *testing.T) {
	o, err := Place("order-1", ev1, validOrder(), t0)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Snapshot()
	if s.Status != StatusPending || s.TotalCents != 2899 || s.Version != 0 {
		t.Fatalf("placed order = %+v", s)
	}
	want := []HistoryEntry{{Seq: 1, Status: StatusPending, EventType: events.TypeOrderCreated, EventID: ev1, At: t0}}
	if got := o.PullHistory(); !slices.Equal(got, want) {
		t.Fatalf("history = %+v, want %+v", got, want)
	}
	evs := o.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	if id, ok := evs[0].(interface{ EventID() uuid.UUID }); !ok || id.EventID() != ev1 {
		t.Fatalf("event %+v does not name the event id %s", evs[0], ev1)
	}
	c, ok := evs[0].(created)
	if !ok || c.EventType() != events.TypeOrderCreated || c.OrderID != "order-1" || c.TotalCents != 2899 || len(c.Items) != 2 || !c.CreatedAt.Equal(s.UpdatedAt) {
		t.Fatalf("OrderCreated = %+v", evs[0])
	}
	if payload, err := json.Marshal(evs[0]); err != nil || string(payload) != string(must(json.Marshal(c.OrderCreated))) {
		t.Fatalf("payload = %s, %v; want the OrderCreated payload alone", payload, err)
	}
	if len(o.PullEvents()) != 0 || len(o.PullHistory()) != 0 {
		t.Fatal("pulling twice returned things again")
	}

	_, err = Place("order-2", ev2, NewOrder{}, t0)
	if ve, ok := errors.AsType[*validation.Error](err); !ok || len(ve.Fields) == 0 {
		t.Fatalf("Place of an invalid order = %v, want a *validation.Error", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type step struct {
	apply func(*Order) Outcome
	want  Outcome
}

func captured(id string) step {
	return step{func(o *Order) Outcome {
		return o.ApplyPaymentCaptured(Cause{events.TypePaymentCaptured, eventID(id)}, t0.Add(time.Second))
	}, Applied}
}

func reserved(id string) step {
	return step{func(o *Order) Outcome {
		return o.ApplyInventoryReserved(Cause{events.TypeInventoryReserved, eventID(id)}, t0.Add(time.Second))
	}, Applied}
}

func paymentFailed(id, reason string) step {
	return step{func(o *Order) Outcome {
		return o.ApplyPaymentFailed(Cause{events.TypePaymentFailed, eventID(id)}, reason, t0.Add(time.Second))
	}, Applied}
}

func rejected(id, reason string) step {
	return step{func(o *Order) Outcome {
		return o.ApplyInventoryRejected(Cause{events.TypeInventoryRejected, eventID(id)}, reason, t0.Add(time.Second))
	}, Applied}
}

func (s step) gives(o Outcome) step { s.want = o; return s }

func TestStatusTransitions(t *testing.T) {
	tests := []struct {
		name       string
		steps      []step
		status     Status
		reason     string
		emitted    []string // event types recorded after placing
		historyLen int
	}{
		{"payment then inventory", []step{captured("p"), reserved("i")}, StatusConfirmed, "",
			[]string{events.TypeOrderConfirmed}, 3},
		{"inventory then payment", []step{reserved("i"), captured("p")}, StatusConfirmed, "",
			[]string{events.TypeOrderConfirmed}, 3},
		{"payment only", []step{captured("p")}, StatusPending, "", nil, 2},
		{"duplicate capture", []step{captured("p"), captured("p2").gives(Duplicate)}, StatusPending, "", nil, 2},
		{"payment failed", []step{paymentFailed("f", "insufficient balance")}, StatusCancelled,
			"payment failed: insufficient balance", []string{events.TypeOrderCancelled}, 2},
		{"inventory rejected after capture", []step{captured("p"), rejected("r", "out of stock: SKU-1")}, StatusCancelled,
			"inventory rejected: out of stock: SKU-1", []string{events.TypeOrderCancelled}, 3},
		{"empty reason", []step{rejected("r", "")}, StatusCancelled, "inventory rejected",
			[]string{events.TypeOrderCancelled}, 2},
		{"late capture after cancel", []step{rejected("r", "x"), captured("p").gives(Late)}, StatusCancelled,
			"inventory rejected: x", []string{events.TypeOrderCancelled}, 2},
		{"late failure after confirm", []step{captured("p"), reserved("i"), paymentFailed("f", "x").gives(Late)},
			StatusConfirmed, "", []string{events.TypeOrderConfirmed}, 3},
		{"second failure", []step{paymentFailed("f", "a"), rejected("r", "b").gives(Late)}, StatusCancelled,
			"payment failed: a", []string{events.TypeOrderCancelled}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			placed, err := Place("order-1", ev1, validOrder(), t0)
			if err != nil {
				t.Fatal(err)
			}
			// Start from a stored order, as the event handlers do.
			o := Restore(placed.Snapshot())
			for i, st := range tt.steps {
				if got := st.apply(o); got != st.want {
					t.Fatalf("step %d: outcome %v, want %v", i, got, st.want)
				}
			}
			s := o.Snapshot()
			if s.Status != tt.status || s.CancellationReason != tt.reason {
				t.Fatalf("status %s reason %q, want %s %q", s.Status, s.CancellationReason, tt.status, tt.reason)
			}
			var types []string
			for _, e := range o.PullEvents() {
				types = append(types, e.EventType())
			}
			if !slices.Equal(types, tt.emitted) {
				t.Fatalf("emitted %v, want %v", types, tt.emitted)
			}
			if len(s.History) != tt.historyLen {
				t.Fatalf("history %+v, want %d entries", s.History, tt.historyLen)
			}
			if added := o.PullHistory(); len(added) != tt.historyLen-1 {
				t.Fatalf("new history %+v, want %d entries", added, tt.historyLen-1)
			}
			last := s.History[len(s.History)-1]
			if last.Status != tt.status || last.Seq != len(s.History) {
				t.Fatalf("last history entry %+v", last)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, s := range []string{"PENDING", "CONFIRMED", "CANCELLED"} {
		if st, ok := ParseStatus(s); !ok || string(st) != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, st, ok)
		}
	}
	for _, s := range []string{"", "pending", "DONE"} {
		if _, ok := ParseStatus(s); ok {
			t.Errorf("ParseStatus(%q) accepted", s)
		}
	}
}
