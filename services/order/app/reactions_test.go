package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/app"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// The payloads the payment and inventory services emit for an order.

func paymentCaptured(o ordertest.Order) events.PaymentCaptured {
	return events.PaymentCaptured{PaymentID: uuid.NewString(), OrderID: o.ID, CustomerID: o.CustomerID,
		AmountCents: o.TotalCents, Currency: o.Currency, CapturedAt: time.Now().UTC()}
}

func paymentFailed(o ordertest.Order, reason string) events.PaymentFailed {
	return events.PaymentFailed{OrderID: o.ID, CustomerID: o.CustomerID, AmountCents: o.TotalCents,
		Currency: o.Currency, Reason: reason, FailedAt: time.Now().UTC()}
}

func inventoryReserved(o ordertest.Order) events.InventoryReserved {
	items := make([]events.StockItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = events.StockItem{SKU: it.SKU, Quantity: it.Quantity}
	}
	return events.InventoryReserved{OrderID: o.ID, Items: items, ReservedAt: time.Now().UTC()}
}

func inventoryRejected(o ordertest.Order, reason string) events.InventoryRejected {
	return events.InventoryRejected{OrderID: o.ID, Reason: reason,
		Shortages:  []events.Shortage{{SKU: o.Items[0].SKU, Requested: o.Items[0].Quantity, Available: 0}},
		RejectedAt: time.Now().UTC()}
}

func (e *env) capture(o ordertest.Order) string {
	return e.emit(events.TopicPayment, events.TypePaymentCaptured, o.ID, paymentCaptured(o))
}

func (e *env) reserve(o ordertest.Order) string {
	return e.emit(events.TopicInventory, events.TypeInventoryReserved, o.ID, inventoryReserved(o))
}

func historyTypes(o ordertest.Order) []string {
	var out []string
	for _, h := range o.History {
		out = append(out, h.Status+"/"+h.EventType)
	}
	return out
}

// TestOrderReactsToPaymentAndInventory runs the order service alone and
// produces the payment and inventory services' events to a real broker, as
// their connectors would: every way the two answers can arrive, and what
// the order becomes. Each case uses its own order, so they do not
// interfere.
func TestOrderReactsToPaymentAndInventory(t *testing.T) {
	t.Parallel()
	svc := start(t)

	t.Run("both arrive in either order and confirm", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			first   func(*env, ordertest.Order) string
			second  func(*env, ordertest.Order) string
			history []string
		}{
			{"payment first", (*env).capture, (*env).reserve,
				[]string{"PENDING/OrderCreated", "PENDING/PaymentCaptured", "CONFIRMED/InventoryReserved"}},
			{"inventory first", (*env).reserve, (*env).capture,
				[]string{"PENDING/OrderCreated", "PENDING/InventoryReserved", "CONFIRMED/PaymentCaptured"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e := svc.in(t)
				o := e.Place(ordertest.SampleOrder)
				firstID := tt.first(e, o)
				e.waitOrder(o.ID, "first step recorded", func(o ordertest.Order) bool { return len(o.History) == 2 })
				if got := e.Get(o.ID); got.Status != "PENDING" {
					t.Fatalf("status after one success = %s, want PENDING", got.Status)
				}
				secondID := tt.second(e, o)
				got := e.waitOrder(o.ID, "CONFIRMED", func(o ordertest.Order) bool { return o.Status == "CONFIRMED" })
				if !slices.Equal(historyTypes(got), tt.history) {
					t.Fatalf("history = %v, want %v", historyTypes(got), tt.history)
				}
				if got.History[1].EventID != firstID || got.History[2].EventID != secondID {
					t.Errorf("history event ids = %s, %s; want %s, %s", got.History[1].EventID, got.History[2].EventID, firstID, secondID)
				}
				if !got.PaymentCaptured || !got.InventoryReserved || got.CancellationReason != nil {
					t.Errorf("confirmed order = %+v", got)
				}
				rows := e.Outbox(o.ID)
				if !slices.Equal(eventtest.Types(rows), []string{events.TypeOrderCreated, events.TypeOrderConfirmed}) {
					t.Fatalf("outbox = %v", eventtest.Types(rows))
				}
				confirmed := rows[1]
				if confirmed.AggregateType != events.AggregateOrder || confirmed.AggregateID != o.ID {
					t.Errorf("OrderConfirmed row = %+v", confirmed)
				}
				var p events.OrderConfirmed
				if err := json.Unmarshal(confirmed.Payload, &p); err != nil {
					t.Fatal(err)
				}
				if p.OrderID != o.ID || p.TotalCents != o.TotalCents || p.Currency != "EUR" || p.CustomerID != "cust-42" {
					t.Errorf("OrderConfirmed payload = %s", confirmed.Payload)
				}
			})
		}
	})

	cancels := []struct {
		name   string
		emit   func(*env, ordertest.Order) string
		reason string
		cause  string
	}{
		{"payment failure cancels", func(e *env, o ordertest.Order) string {
			return e.emit(events.TopicPayment, events.TypePaymentFailed, o.ID, paymentFailed(o, "insufficient balance"))
		}, "payment failed: insufficient balance", events.TypePaymentFailed},
		{"inventory rejection cancels", func(e *env, o ordertest.Order) string {
			return e.emit(events.TopicInventory, events.TypeInventoryRejected, o.ID, inventoryRejected(o, "out of stock: SKU-1"))
		}, "inventory rejected: out of stock: SKU-1", events.TypeInventoryRejected},
	}
	for _, tt := range cancels {
		t.Run(tt.name, func(t *testing.T) {
			e := svc.in(t)
			o := e.Place(ordertest.SampleOrder)
			id := tt.emit(e, o)
			got := e.waitOrder(o.ID, "CANCELLED", func(o ordertest.Order) bool { return o.Status == "CANCELLED" })
			if got.CancellationReason == nil || *got.CancellationReason != tt.reason {
				t.Fatalf("cancellation reason = %v, want %q", got.CancellationReason, tt.reason)
			}
			last := got.History[len(got.History)-1]
			if len(got.History) != 2 || last.Status != "CANCELLED" || last.EventType != tt.cause || last.EventID != id {
				t.Fatalf("history = %+v", got.History)
			}
			rows := e.Outbox(o.ID)
			if !slices.Equal(eventtest.Types(rows), []string{events.TypeOrderCreated, events.TypeOrderCancelled}) {
				t.Fatalf("outbox = %v", eventtest.Types(rows))
			}
			var p events.OrderCancelled
			if err := json.Unmarshal(rows[1].Payload, &p); err != nil {
				t.Fatal(err)
			}
			if p.OrderID != o.ID || p.Reason != tt.reason || p.CustomerID != o.CustomerID || rows[1].AggregateID != o.ID {
				t.Errorf("OrderCancelled row %+v payload %s", rows[1], rows[1].Payload)
			}
		})
	}

	t.Run("late event is ignored", func(t *testing.T) {
		e := svc.in(t)
		o := e.Place(ordertest.SampleOrder)
		e.emit(events.TopicInventory, events.TypeInventoryRejected, o.ID, inventoryRejected(o, "out of stock: SKU-1"))
		cancelled := e.waitOrder(o.ID, "CANCELLED", func(o ordertest.Order) bool { return o.Status == "CANCELLED" })

		late := e.capture(o)
		if outcome := e.waitInbox(late); outcome != "processed" {
			t.Fatalf("late event outcome = %s, want processed", outcome)
		}
		got := e.Get(o.ID)
		if got.Status != "CANCELLED" || got.PaymentCaptured || len(got.History) != len(cancelled.History) ||
			!got.UpdatedAt.Equal(cancelled.UpdatedAt) {
			t.Fatalf("late event changed the order: %+v", got)
		}
		if types := eventtest.Types(e.Outbox(o.ID)); len(types) != 2 {
			t.Fatalf("outbox after late event = %v, want OrderCreated and OrderCancelled only", types)
		}
	})

	t.Run("duplicate PaymentCaptured gives one history entry", func(t *testing.T) {
		e := svc.in(t)
		o := e.Place(ordertest.SampleOrder)
		payload := paymentCaptured(o)
		id := uuid.Must(uuid.NewV7()).String()
		// The same event delivered twice (a redelivery) ...
		e.emitWithID(id, events.TopicPayment, events.TypePaymentCaptured, o.ID, payload)
		e.emitWithID(id, events.TopicPayment, events.TypePaymentCaptured, o.ID, payload)
		// ... and the same fact under a new event id (a re-emission).
		again := e.emit(events.TopicPayment, events.TypePaymentCaptured, o.ID, payload)
		if outcome := e.waitInbox(again); outcome != "processed" {
			t.Fatalf("re-emitted event outcome = %s", outcome)
		}
		// The three records share a key, so a partition: all are handled
		// once the last one is.
		got := e.Get(o.ID)
		want := []string{"PENDING/OrderCreated", "PENDING/PaymentCaptured"}
		if !slices.Equal(historyTypes(got), want) || got.History[1].EventID != id {
			t.Fatalf("history = %+v, want %v from event %s", got.History, want, id)
		}
		if n := e.Count("inbox", "event_id = $1", id); n != 1 {
			t.Fatalf("inbox rows for the duplicated event = %d", n)
		}

		e.reserve(o)
		got = e.waitOrder(o.ID, "CONFIRMED", func(o ordertest.Order) bool { return o.Status == "CONFIRMED" })
		if len(got.History) != 3 {
			t.Fatalf("history = %v", historyTypes(got))
		}
		if types := eventtest.Types(e.Outbox(o.ID)); !slices.Equal(types, []string{events.TypeOrderCreated, events.TypeOrderConfirmed}) {
			t.Fatalf("outbox = %v, want one OrderConfirmed", types)
		}
	})

	t.Run("event for an unknown order is retried, then dead-lettered", func(t *testing.T) {
		e := svc.in(t)
		ghost := ordertest.Order{ID: uuid.Must(uuid.NewV7()).String(), CustomerID: "ghost", Currency: "EUR", TotalCents: 1}
		id := e.capture(ghost)
		if outcome := e.waitInbox(id); outcome != "dead_lettered" {
			t.Fatalf("outcome = %s, want dead_lettered", outcome)
		}
		retried := map[string]string{"group": app.DefaultKafkaGroup, "topic": events.TopicPayment, "type": events.TypePaymentCaptured, "outcome": "retried"}
		if n := value(e.scrape(), "consumer_events_total", retried); n < 1 {
			t.Fatalf("consumer_events_total%v = %v, want the event retried before it was dead-lettered", retried, n)
		}
		if n := e.Count("orders", "id = $1", ghost.ID); n != 0 {
			t.Fatalf("an order appeared for an unknown id")
		}
	})

	// PostgreSQL hands a commit to logical decoding a moment before other
	// sessions see it; the saga's answer to an order can come within that
	// moment. Here the order's transaction stays open until the answer has
	// failed once.
	t.Run("event for an order not visible yet is applied once it is", func(t *testing.T) {
		e := svc.in(t)
		o := ordertest.Order{ID: uuid.Must(uuid.NewV7()).String(), CustomerID: "cust-late", Currency: "EUR", TotalCents: 1000}
		tx, err := e.db.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(t.Context()) }()
		now := time.Now().UTC()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO orders (id, customer_id, currency, total_cents, status, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, 'PENDING', $5, $5, 1)`, []any{o.ID, o.CustomerID, o.Currency, o.TotalCents, now}},
			{`INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents) VALUES ($1, 1, 'SKU-1', 2, 500)`, []any{o.ID}},
			{`INSERT INTO order_history (order_id, seq, status, event_type, event_id, occurred_at)
VALUES ($1, 1, 'PENDING', 'OrderCreated', $2, $3)`, []any{o.ID, uuid.Must(uuid.NewV7()).String(), now}},
		} {
			if _, err := tx.Exec(t.Context(), q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		retried := map[string]string{"group": app.DefaultKafkaGroup, "topic": events.TopicPayment, "type": events.TypePaymentCaptured, "outcome": "retried"}
		before := value(e.scrape(), "consumer_events_total", retried)
		id := e.capture(o)
		eventually(t, "the event retried", func() (bool, string) {
			n := value(e.scrape(), "consumer_events_total", retried)
			return n > before, fmt.Sprintf("retried %v times, %v before", n, before)
		})
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		if outcome := e.waitInbox(id); outcome != "processed" {
			t.Fatalf("outcome = %s, want processed", outcome)
		}
		if got := e.Get(o.ID); !got.PaymentCaptured || got.Status != "PENDING" {
			t.Fatalf("order %+v, want its payment captured", got)
		}
	})

	t.Run("payload breaking its schema is dead-lettered", func(t *testing.T) {
		e := svc.in(t)
		o := e.Place(ordertest.SampleOrder)
		id := e.emit(events.TopicPayment, events.TypePaymentCaptured, o.ID, []byte(`{"orderId":"`+o.ID+`"}`))
		if outcome := e.waitInbox(id); outcome != "dead_lettered" {
			t.Fatalf("outcome = %s, want dead_lettered", outcome)
		}
		if got := e.Get(o.ID); got.PaymentCaptured || len(got.History) != 1 {
			t.Fatalf("invalid event changed the order: %+v", got)
		}
	})

	t.Run("other event types are acknowledged and ignored", func(t *testing.T) {
		e := svc.in(t)
		o := e.Place(ordertest.SampleOrder)
		id := e.emit(events.TopicPayment, events.TypePaymentRefunded, o.ID, events.PaymentRefunded{
			PaymentID: uuid.NewString(), OrderID: o.ID, CustomerID: o.CustomerID, AmountCents: o.TotalCents,
			Currency: o.Currency, RefundedAt: time.Now().UTC()})
		// No handler takes PaymentRefunded: it is acknowledged without a
		// transaction. The order's next event, on the same partition, is
		// handled only after it.
		next := e.capture(o)
		if outcome := e.waitInbox(next); outcome != "processed" {
			t.Fatalf("next event outcome = %s, want processed", outcome)
		}
		if n := e.Count("inbox", "event_id = $1", id); n != 0 {
			t.Fatalf("PaymentRefunded left %d inbox rows, want none", n)
		}
		ignored := map[string]string{"group": app.DefaultKafkaGroup, "topic": events.TopicPayment, "type": "other", "outcome": "ignored"}
		if n := value(e.scrape(), "consumer_events_total", ignored); n != 1 {
			t.Fatalf("consumer_events_total%v = %v, want 1", ignored, n)
		}
		want := []string{"PENDING/OrderCreated", "PENDING/PaymentCaptured"}
		if got := e.Get(o.ID); got.Status != "PENDING" || !slices.Equal(historyTypes(got), want) {
			t.Fatalf("history = %v, want %v: PaymentRefunded changed the order", historyTypes(got), want)
		}
	})

	t.Run("simultaneous successes confirm each order once", func(t *testing.T) {
		e := svc.in(t)
		// Payment and inventory events travel on different topics, so
		// different partition workers apply them at the same time.
		const n = 20
		orders := make([]ordertest.Order, n)
		var recs []*kgo.Record
		record := func(topic, typ string, o ordertest.Order, payload any) *kgo.Record {
			return &kgo.Record{Topic: topic, Key: []byte(o.ID), Value: ordertest.Must(json.Marshal(payload)), Headers: []kgo.RecordHeader{
				{Key: "id", Value: []byte(uuid.Must(uuid.NewV7()).String())}, {Key: "eventType", Value: []byte(typ)}}}
		}
		for i := range orders {
			orders[i] = e.Place(ordertest.SampleOrder)
			recs = append(recs,
				record(events.TopicPayment, events.TypePaymentCaptured, orders[i], paymentCaptured(orders[i])),
				record(events.TopicInventory, events.TypeInventoryReserved, orders[i], inventoryReserved(orders[i])))
		}
		kafkatest.Produce(t, e.broker, events.TopicPayment, recs...)
		for _, o := range orders {
			got := e.waitOrder(o.ID, "CONFIRMED", func(o ordertest.Order) bool { return o.Status == "CONFIRMED" })
			if len(got.History) != 3 {
				t.Fatalf("order %s history = %v", o.ID, historyTypes(got))
			}
			if types := eventtest.Types(e.Outbox(o.ID)); !slices.Equal(types, []string{events.TypeOrderCreated, events.TypeOrderConfirmed}) {
				t.Fatalf("order %s outbox = %v", o.ID, types)
			}
		}
	})

	t.Run("unknown SKU ends cancelled through inventory", func(t *testing.T) {
		e := svc.in(t)
		o := e.Place(`{"customerId":"c","currency":"USD","items":[{"sku":"NO-SUCH-SKU","quantity":1,"unitPriceCents":100}]}`)
		if o.Status != "PENDING" {
			t.Fatalf("order for an unknown SKU = %s, want PENDING", o.Status)
		}
		e.emit(events.TopicInventory, events.TypeInventoryRejected, o.ID, inventoryRejected(o, "unknown sku: NO-SUCH-SKU"))
		got := e.waitOrder(o.ID, "CANCELLED", func(o ordertest.Order) bool { return o.Status == "CANCELLED" })
		if *got.CancellationReason != "inventory rejected: unknown sku: NO-SUCH-SKU" {
			t.Fatalf("reason = %q", *got.CancellationReason)
		}
	})
}
