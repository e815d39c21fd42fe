package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/app"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/metricstest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type running struct {
	app    *service.Service
	pool   *pgxpool.Pool
	broker string
	url    string
}

func start(t *testing.T) *running {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	broker := kafkatest.Start(t)
	cfg, err := app.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"HTTP_ADDR": "127.0.0.1:0", "DATABASE_URL": dsn, "KAFKA_BROKERS": broker,
			"OUTBOX_DELETE_AFTER_INSERT": "false",
			// No connector runs here, so no slot exists; the gate has its own test
			// in the order service (TestCaptureGatesWritesAndReadiness).
			"OUTBOX_REQUIRE_CAPTURE": "false",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a := servicetest.Start(t, app.Start, cfg, slog.New(slog.DiscardHandler))
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &running{app: a, pool: pool, broker: broker, url: "http://" + a.Addr()}
}

// stock returns [available, reserved] of sku through the API.
func (s *running) stock(t *testing.T, sku string) [2]int {
	t.Helper()
	status, body := apitest.Call(t, http.MethodGet, s.url+"/stock/"+sku, "")
	if status != http.StatusOK {
		t.Fatalf("GET stock %s = %d %v", sku, status, body)
	}
	return [2]int{int(body["available"].(float64)), int(body["reserved"].(float64))}
}

func (s *running) put(t *testing.T, sku string, n int) {
	t.Helper()
	body, _ := json.Marshal(map[string]int{"available": n})
	if status, resp := apitest.Call(t, http.MethodPut, s.url+"/stock/"+sku, string(body)); status != http.StatusOK {
		t.Fatalf("PUT stock %s = %d %v", sku, status, resp)
	}
}

// record builds an order event the way the CDC connector publishes it,
// after checking its payload against the event's schema.
func record(t *testing.T, typ, orderID string, payload any) *kgo.Record {
	t.Helper()
	r := eventtest.Record(t, events.TopicOrder, typ, orderID, payload)
	if err := schemas.Validate(typ, r.Value); err != nil {
		t.Fatalf("test payload: %v", err)
	}
	return r
}

func newID() string { return eventtest.NewID() }

// created builds OrderCreated with lines given as SKU, quantity pairs.
func created(t *testing.T, orderID string, lines ...any) *kgo.Record {
	t.Helper()
	oc := events.OrderCreated{OrderID: orderID, CustomerID: "cust-42", Currency: "EUR", CreatedAt: time.Now().UTC()}
	for i := 0; i < len(lines); i += 2 {
		oc.Items = append(oc.Items, events.OrderItem{SKU: lines[i].(string), Quantity: lines[i+1].(int), UnitPriceCents: 100})
		oc.TotalCents += int64(100 * lines[i+1].(int))
	}
	return record(t, events.TypeOrderCreated, orderID, oc)
}

func cancelled(t *testing.T, orderID string) *kgo.Record {
	return record(t, events.TypeOrderCancelled, orderID, events.OrderCancelled{OrderID: orderID, CustomerID: "cust-42", Reason: "payment failed", CancelledAt: time.Now().UTC()})
}

func confirmed(t *testing.T, orderID string) *kgo.Record {
	return record(t, events.TypeOrderConfirmed, orderID, events.OrderConfirmed{OrderID: orderID, CustomerID: "cust-42", TotalCents: 1, Currency: "EUR", ConfirmedAt: time.Now().UTC()})
}

// handled waits until the consumer has committed every one of recs (and
// every record before each on its partition).
func (s *running) handled(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	eventtest.WaitHandled(t, s.pool, app.DefaultKafkaGroup, eventtest.IDs(recs...)...)
}

// emitted returns the types of the events emitted for orderID, in order,
// after checking their routing columns and schemas.
func (s *running) emitted(t *testing.T, orderID string) string {
	t.Helper()
	rows := eventtest.Outbox(t, s.pool, eventtest.Expect{AggregateType: events.AggregateInventory, Validate: schemas.Validate}, orderID)
	return strings.Join(eventtest.Types(rows), ",")
}

func TestInventorySagaOverTheBroker(t *testing.T) {
	s := start(t)
	s.put(t, "A", 5)
	s.put(t, "B", 1)

	kept, rejected, released := newID(), newID(), newID()
	// Different orders travel on different partitions in no set order, so
	// each step waits for the one before.
	keptCreated, keptAgain := created(t, kept, "A", 2, "B", 1), created(t, kept, "A", 2, "B", 1)
	// Redelivered as is, and again under another event id.
	kafkatest.Produce(t, s.broker, events.TopicOrder, keptCreated, eventtest.Redelivery(keptCreated), keptAgain)
	s.handled(t, keptCreated, keptAgain)
	others := []*kgo.Record{
		created(t, rejected, "A", 1, "B", 1), // B is gone: nothing of A may be taken either
		created(t, released, "A", 1, "A", 1), // same SKU twice: 2 units
	}
	kafkatest.Produce(t, s.broker, events.TopicOrder, others...)
	s.handled(t, others...)
	markers := []*kgo.Record{confirmed(t, kept), cancelled(t, rejected), cancelled(t, released)}
	kafkatest.Produce(t, s.broker, events.TopicOrder, markers...)
	s.handled(t, markers...)

	if got := s.stock(t, "A"); got != [2]int{3, 2} {
		t.Errorf("A = %v, want [3 2]: 2 held by the confirmed order, 2 released", got)
	}
	if got := s.stock(t, "B"); got != [2]int{0, 1} {
		t.Errorf("B = %v, want [0 1]", got)
	}
	for _, tc := range []struct{ orderID, want, status string }{
		{kept, "InventoryReserved", "COMMITTED"},
		{rejected, "InventoryRejected", "REJECTED"},
		{released, "InventoryReserved,InventoryReleased", "RELEASED"},
	} {
		if got := s.emitted(t, tc.orderID); got != tc.want {
			t.Errorf("order %s emitted %s, want %s", tc.orderID, got, tc.want)
		}
		_, body := apitest.Call(t, http.MethodGet, s.url+"/reservations?orderId="+tc.orderID, "")
		list, _ := body["reservations"].([]any)
		if len(list) == 0 || list[0].(map[string]any)["status"] != tc.status {
			t.Errorf("reservations of %s = %v, want %s", tc.orderID, body, tc.status)
		}
	}
	metricstest.WaitCaughtUp(t, s.url)
	consumed := func(typ, outcome string) string {
		return `{group="inventory-service",outcome="` + outcome + `",topic="outbox.event.order",type="` + typ + `"}`
	}
	metricstest.WantSamples(t, s.url, "consumer_events_total", map[string]float64{
		consumed("OrderCreated", "processed"):   4,
		consumed("OrderCreated", "duplicate"):   1,
		consumed("OrderConfirmed", "processed"): 1,
		consumed("OrderCancelled", "processed"): 2,
	})
	metricstest.WantSamples(t, s.url, "outbox_events_written_total", map[string]float64{
		`{aggregate="inventory",type="InventoryReserved"}`: 2,
		`{aggregate="inventory",type="InventoryRejected"}`: 1,
		`{aggregate="inventory",type="InventoryReleased"}`: 1,
	})
	servicetest.WaitFor(t, 30*time.Second, "readiness", func() bool {
		status, _ := apitest.Call(t, http.MethodGet, s.url+"/readyz", "")
		return status == http.StatusOK
	})
}

// TestConcurrentOrdersOverPartitions sends 20 orders of one unit against a
// stock of 5; keyed by order id they spread over the topic's partitions,
// which the consumer handles in parallel.
func TestConcurrentOrdersOverPartitions(t *testing.T) {
	s := start(t)
	s.put(t, "HOT", 5)
	recs := make([]*kgo.Record, 20)
	orders := make([]string, len(recs))
	for i := range recs {
		orders[i] = newID()
		recs[i] = created(t, orders[i], "HOT", 1)
	}
	kafkatest.Produce(t, s.broker, events.TopicOrder, recs...)
	s.handled(t, recs...)

	partitions := map[int32]bool{}
	for _, r := range recs {
		partitions[r.Partition] = true
	}
	if len(partitions) < 2 {
		t.Fatalf("records landed on %d partition(s); the test needs several", len(partitions))
	}
	if got := s.stock(t, "HOT"); got != [2]int{0, 5} {
		t.Fatalf("HOT = %v, want [0 5]", got)
	}
	var reserved int
	for _, id := range orders {
		switch s.emitted(t, id) {
		case "InventoryReserved":
			reserved++
		case "InventoryRejected":
		default:
			t.Fatalf("order %s emitted %q", id, s.emitted(t, id))
		}
	}
	if reserved != 5 {
		t.Fatalf("%d orders reserved, want 5", reserved)
	}
}

func TestShutdownStopsEverything(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if s.app.Err() != nil {
		t.Fatalf("Err after a clean shutdown = %v", s.app.Err())
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP still answers after Shutdown: %d", resp.StatusCode)
	}
}
