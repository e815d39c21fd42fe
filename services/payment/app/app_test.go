package app_test

import (
	"context"
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
	"github.com/outboxcdc/outboxcdc/services/payment/app"
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
			"KAFKA_GROUP": "payment-service", "OUTBOX_DELETE_AFTER_INSERT": "false",
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

func (s *running) balance(t *testing.T, customer string) int64 {
	t.Helper()
	status, body := apitest.Call(t, http.MethodGet, s.url+"/accounts/"+customer, "")
	if status != http.StatusOK {
		t.Fatalf("GET account = %d %v", status, body)
	}
	return int64(body["balanceCents"].(float64))
}

// record builds an order event the way the CDC connector publishes it,
// after checking its payload against the event's schema.
func record(t *testing.T, id, typ, orderID string, payload any) *kgo.Record {
	t.Helper()
	r := eventtest.RecordWithID(t, id, events.TopicOrder, typ, orderID, payload)
	if err := schemas.Validate(typ, r.Value); err != nil {
		t.Fatalf("test payload: %v", err)
	}
	return r
}

func newID() string { return eventtest.NewID() }

func created(t *testing.T, orderID, customer string, total int64) *kgo.Record {
	return record(t, newID(), events.TypeOrderCreated, orderID, events.OrderCreated{
		OrderID: orderID, CustomerID: customer, Currency: "EUR", TotalCents: total, CreatedAt: time.Now().UTC(),
		Items: []events.OrderItem{{SKU: "BOOK-1", Quantity: 2, UnitPriceCents: total / 2}},
	})
}

func cancelled(t *testing.T, orderID, customer string) *kgo.Record {
	return record(t, newID(), events.TypeOrderCancelled, orderID, events.OrderCancelled{
		OrderID: orderID, CustomerID: customer, Reason: "stock", CancelledAt: time.Now().UTC(),
	})
}

func confirmed(t *testing.T, orderID, customer string) *kgo.Record {
	return record(t, newID(), events.TypeOrderConfirmed, orderID, events.OrderConfirmed{
		OrderID: orderID, CustomerID: customer, TotalCents: 1, Currency: "EUR", ConfirmedAt: time.Now().UTC(),
	})
}

// outbox returns the events emitted for orderID, in order, after checking
// their routing columns and schemas.
func (s *running) outbox(t *testing.T, orderID string) []eventtest.Row {
	t.Helper()
	return eventtest.Outbox(t, s.pool, eventtest.Expect{AggregateType: events.AggregatePayment, Validate: schemas.Validate}, orderID)
}

func types(rows []eventtest.Row) string { return strings.Join(eventtest.Types(rows), ",") }

func TestPaymentSagaOverTheBroker(t *testing.T) {
	s := start(t)
	if status, body := apitest.Call(t, http.MethodPut, s.url+"/accounts/cust-rich", `{"balanceCents": 10000}`); status != http.StatusOK {
		t.Fatalf("PUT = %d %v", status, body)
	}
	if status, body := apitest.Call(t, http.MethodPut, s.url+"/accounts/cust-poor", `{"balanceCents": 500}`); status != http.StatusOK {
		t.Fatalf("PUT = %d %v", status, body)
	}

	paid, refunded, failed := newID(), newID(), newID()
	paidCreated := created(t, paid, "cust-rich", 2000)
	paidAgain := created(t, paid, "cust-rich", 2000) // same order, another event id
	kafkatest.Produce(t, s.broker, events.TopicOrder,
		paidCreated, eventtest.Redelivery(paidCreated), paidAgain,
		created(t, refunded, "cust-rich", 3000),
		created(t, failed, "cust-poor", 2899),
	)
	// The cancellation of the refunded order and of the failed order, and
	// a confirmation; markers that come after everything else per key.
	cancelRefunded, cancelFailed, confirmPaid := cancelled(t, refunded, "cust-rich"), cancelled(t, failed, "cust-poor"), confirmed(t, paid, "cust-rich")
	kafkatest.Produce(t, s.broker, events.TopicOrder, cancelRefunded, cancelFailed, confirmPaid)
	for _, r := range []*kgo.Record{cancelRefunded, cancelFailed} {
		eventtest.WaitHandled(t, s.pool, app.DefaultKafkaGroup, eventtest.ID(r))
	}
	consumed := func(typ, outcome string) string {
		return `{group="payment-service",outcome="` + outcome + `",topic="outbox.event.order",type="` + typ + `"}`
	}
	// The payment service has no handler for OrderConfirmed: it is
	// acknowledged without a transaction and leaves no inbox row.
	servicetest.WaitFor(t, 30*time.Second, "the confirmation ignored", func() bool {
		return metricstest.Scrape(t, s.url, "consumer_events_total")[consumed("other", "ignored")] == 1
	})

	if got := s.balance(t, "cust-rich"); got != 8000 {
		t.Fatalf("cust-rich balance = %d, want 8000 (2000 charged once, 3000 charged and refunded)", got)
	}
	if got := s.balance(t, "cust-poor"); got != 500 {
		t.Fatalf("cust-poor balance = %d, want 500 unchanged", got)
	}
	for _, tc := range []struct {
		orderID, wantTypes, wantStatus string
	}{
		{paid, "PaymentCaptured", "CAPTURED"},
		{refunded, "PaymentCaptured,PaymentRefunded", "REFUNDED"},
		{failed, "PaymentFailed", "FAILED"},
	} {
		if got := types(s.outbox(t, tc.orderID)); got != tc.wantTypes {
			t.Errorf("order %s emitted %s, want %s", tc.orderID, got, tc.wantTypes)
		}
		status, body := apitest.Call(t, http.MethodGet, s.url+"/payments?orderId="+tc.orderID, "")
		list, _ := body["payments"].([]any)
		if status != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["status"] != tc.wantStatus {
			t.Errorf("payments of %s = %d %v, want one %s", tc.orderID, status, body, tc.wantStatus)
		}
	}
	if reason := s.outbox(t, failed)[0].Fields["reason"]; reason != "insufficient balance: have 500, need 2899" {
		t.Errorf("PaymentFailed reason = %v", reason)
	}
	var claims int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox`).Scan(&claims); err != nil {
		t.Fatal(err)
	}
	if claims != 6 {
		t.Errorf("inbox rows = %d, want 6 (the duplicate delivery and the ignored confirmation claim nothing)", claims)
	}
	metricstest.WaitCaughtUp(t, s.url)
	metricstest.WantSamples(t, s.url, "consumer_events_total", map[string]float64{
		consumed("OrderCreated", "processed"):   4,
		consumed("OrderCreated", "duplicate"):   1,
		consumed("OrderCancelled", "processed"): 2,
		consumed("other", "ignored"):            1, // OrderConfirmed: not the payment service's concern
	})
	metricstest.WantSamples(t, s.url, "outbox_events_written_total", map[string]float64{
		`{aggregate="payment",type="PaymentCaptured"}`: 2,
		`{aggregate="payment",type="PaymentRefunded"}`: 1,
		`{aggregate="payment",type="PaymentFailed"}`:   1,
	})
	servicetest.WaitFor(t, 30*time.Second, "readiness", func() bool {
		status, _ := apitest.Call(t, http.MethodGet, s.url+"/readyz", "")
		return status == http.StatusOK
	})
}

func TestShutdownStopsEverything(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.app.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
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

func TestStartFailsOnAnUnreachableDatabase(t *testing.T) {
	cfg, err := app.ConfigFromEnv(func(k string) string {
		return map[string]string{
			"HTTP_ADDR": "127.0.0.1:0", "DATABASE_URL": "postgres://x:y@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
			"DATABASE_WAIT": "100ms",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Start(t.Context(), cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Start succeeded without a database")
	}
}
