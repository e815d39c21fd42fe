package kafkaapi_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/kafkaapi"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/eventtest"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	pool *pgxpool.Pool
	repo *postgres.Repository
	mux  consumer.Mux
}

func setup(t *testing.T) fixture {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	log := slog.New(slog.DiscardHandler)
	repo := postgres.New(pool, postgres.Options{})
	return fixture{pool: pool, repo: repo, mux: kafkaapi.New(repo, log).Mux()}
}

// deliver runs the handler for ev in its own transaction, as the consumer
// runtime does, and commits when it succeeds.
func (f fixture) deliver(t *testing.T, ev consumer.Event) error {
	t.Helper()
	return pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.mux.Handle(t.Context(), tx, ev) })
}

func (f fixture) account(t *testing.T, customer string, balance int64) {
	t.Helper()
	a, err := payment.NewAccount(customer, "EUR", balance, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.PutAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) balance(t *testing.T, customer string) int64 {
	t.Helper()
	a, err := f.repo.Account(t.Context(), customer)
	if err != nil {
		t.Fatal(err)
	}
	return a.BalanceCents
}

// outbox returns the emitted events in order, each checked against its
// schema and its routing columns.
func (f fixture) outbox(t *testing.T) []eventtest.Row {
	t.Helper()
	return eventtest.Outbox(t, f.pool, eventtest.Expect{AggregateType: events.AggregatePayment, Validate: schemas.Validate})
}

func event(t *testing.T, typ, orderID string, payload any) consumer.Event {
	t.Helper()
	return eventtest.Event(t, events.TopicOrder, typ, orderID, payload)
}

func orderCreated(t *testing.T, orderID, customer string, total int64) consumer.Event {
	t.Helper()
	return event(t, events.TypeOrderCreated, orderID, events.OrderCreated{
		OrderID: orderID, CustomerID: customer, Currency: "EUR", TotalCents: total, CreatedAt: time.Now().UTC(),
		Items: []events.OrderItem{{SKU: "BOOK-1", Quantity: 1, UnitPriceCents: total}},
	})
}

func orderCancelled(t *testing.T, orderID, customer string) consumer.Event {
	t.Helper()
	return event(t, events.TypeOrderCancelled, orderID, events.OrderCancelled{OrderID: orderID, CustomerID: customer, Reason: "test", CancelledAt: time.Now().UTC()})
}

func newOrderID() string { return eventtest.NewID() }

// emittedAt is the time a payment event carries (capturedAt, failedAt or
// refundedAt).
func emittedAt(t *testing.T, r eventtest.Row) time.Time {
	t.Helper()
	field := map[string]string{
		events.TypePaymentCaptured: "capturedAt", events.TypePaymentFailed: "failedAt", events.TypePaymentRefunded: "refundedAt",
	}[r.Type]
	s, _ := r.Fields[field].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %s = %q: %v", r.Type, field, s, err)
	}
	return at
}

func TestOrderCreated(t *testing.T) {
	for _, tc := range []struct {
		name        string
		balance     int64 // -1: no account
		total       int64
		wantType    string
		wantBalance int64
		wantStatus  payment.Status
		wantReason  string
	}{
		{"balance covers the total", 5000, 2899, events.TypePaymentCaptured, 2101, payment.StatusCaptured, ""},
		{"insufficient balance", 500, 2899, events.TypePaymentFailed, 500, payment.StatusFailed, "insufficient balance: have 500, need 2899"},
		{"no account", -1, 2899, events.TypePaymentFailed, 0, payment.StatusFailed, "no account for customer cust-42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			if tc.balance >= 0 {
				f.account(t, "cust-42", tc.balance)
			}
			orderID := newOrderID()
			if err := f.deliver(t, orderCreated(t, orderID, "cust-42", tc.total)); err != nil {
				t.Fatal(err)
			}
			if tc.balance >= 0 {
				if got := f.balance(t, "cust-42"); got != tc.wantBalance {
					t.Fatalf("balance = %d, want %d", got, tc.wantBalance)
				}
			}
			ps, err := f.repo.PaymentsByOrder(t.Context(), orderID)
			if err != nil || len(ps) != 1 || ps[0].Status != tc.wantStatus || ps[0].Reason != tc.wantReason {
				t.Fatalf("payments = %+v, %v", ps, err)
			}
			out := f.outbox(t)
			if len(out) != 1 || out[0].Type != tc.wantType || out[0].AggregateID != orderID {
				t.Fatalf("outbox = %+v, want one %s keyed by the order", out, tc.wantType)
			}
			if tc.wantReason != "" && out[0].Fields["reason"] != tc.wantReason {
				t.Fatalf("reason = %v, want %q", out[0].Fields["reason"], tc.wantReason)
			}
			// The handler passes the clock's reading as it is; the event
			// still carries the instant the row holds.
			if at := emittedAt(t, out[0]); !at.Equal(ps[0].CreatedAt) {
				t.Fatalf("%s at %v, payment stored at %v; want the same instant", tc.wantType, at, ps[0].CreatedAt)
			}
		})
	}
}

// TestOrderCreatedForAnyCustomerIDIsDecided: whatever customer id the
// order service accepted gets an answer, never a dead letter.
func TestOrderCreatedForAnyCustomerIDIsDecided(t *testing.T) {
	f := setup(t)
	f.account(t, "jane doe", 10)
	orderID := newOrderID()
	if err := f.deliver(t, orderCreated(t, orderID, "jane doe", 5)); err != nil {
		t.Fatal(err)
	}
	if out := f.outbox(t); len(out) != 1 || out[0].Type != events.TypePaymentCaptured {
		t.Fatalf("outbox = %+v, want PaymentCaptured", out)
	}
}

func TestOrderCreatedTwiceChargesOnce(t *testing.T) {
	f := setup(t)
	f.account(t, "cust-42", 5000)
	orderID := newOrderID()
	// Same order, a different event id each time: the inbox cannot tell
	// them apart, the existing payment can.
	for range 3 {
		if err := f.deliver(t, orderCreated(t, orderID, "cust-42", 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.balance(t, "cust-42"); got != 4000 {
		t.Fatalf("balance = %d, want 4000 (charged once)", got)
	}
	if out := f.outbox(t); len(out) != 1 {
		t.Fatalf("outbox = %+v, want one PaymentCaptured", out)
	}
}

func TestConcurrentOrderCreatedForOneOrderChargesOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		account bool
	}{
		{"serialised by the account lock", true},
		// Without an account there is no row to lock; payments.order_id
		// UNIQUE turns the losers into conflicts that a retry resolves.
		{"backed by the unique order id", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			if tc.account {
				f.account(t, "cust-42", 5000)
			}
			orderID := newOrderID()
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				ev := orderCreated(t, orderID, "cust-42", 1000)
				wg.Go(func() {
					errs[i] = f.deliver(t, ev)
					if errors.Is(errs[i], payment.ErrConflict) {
						errs[i] = f.deliver(t, ev) // the runtime's retry
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if tc.account {
				if got := f.balance(t, "cust-42"); got != 4000 {
					t.Fatalf("balance = %d, want 4000", got)
				}
			}
			var payments int
			if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM payments WHERE order_id = $1`, orderID).Scan(&payments); err != nil {
				t.Fatal(err)
			}
			if out := f.outbox(t); payments != 1 || len(out) != 1 {
				t.Fatalf("%d payments, outbox %+v; want one each", payments, out)
			}
		})
	}
}

func TestOrderCancelledRefundsACapture(t *testing.T) {
	f := setup(t)
	f.account(t, "cust-42", 5000)
	orderID := newOrderID()
	if err := f.deliver(t, orderCreated(t, orderID, "cust-42", 2899)); err != nil {
		t.Fatal(err)
	}
	// A confirmation is ignored; the cancellation refunds, once.
	if err := f.deliver(t, event(t, events.TypeOrderConfirmed, orderID, events.OrderConfirmed{OrderID: orderID, CustomerID: "cust-42", TotalCents: 2899, Currency: "EUR", ConfirmedAt: time.Now()})); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.deliver(t, orderCancelled(t, orderID, "cust-42")); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.balance(t, "cust-42"); got != 5000 {
		t.Fatalf("balance = %d, want 5000 restored", got)
	}
	ps, _ := f.repo.PaymentsByOrder(t.Context(), orderID)
	if len(ps) != 1 || ps[0].Status != payment.StatusRefunded {
		t.Fatalf("payments = %+v, want one REFUNDED", ps)
	}
	out := f.outbox(t)
	if len(out) != 2 || out[0].Type != events.TypePaymentCaptured || out[1].Type != events.TypePaymentRefunded {
		t.Fatalf("outbox = %+v, want PaymentCaptured then PaymentRefunded", out)
	}
	if out[1].Fields["paymentId"] != ps[0].ID || out[1].Fields["amountCents"] != float64(2899) {
		t.Fatalf("PaymentRefunded = %v", out[1].Fields)
	}
	if at := emittedAt(t, out[1]); !at.Equal(ps[0].UpdatedAt) {
		t.Fatalf("PaymentRefunded at %v, payment updated at %v; want the same instant", at, ps[0].UpdatedAt)
	}
}

// TestOrderBreakingARuleIsDeadLettered: an order the domain rejects is
// never charged, whatever the retries; the runtime dead-letters the
// handler's error at once, and nothing is written.
func TestOrderBreakingARuleIsDeadLettered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		customer string
		total    int64
	}{
		{"blank customer id", "   ", 10},
		{"negative total", "cust-42", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.account(t, "cust-42", 5000)
			orderID := newOrderID()
			err := f.deliver(t, orderCreated(t, orderID, tc.customer, tc.total))
			if _, ok := errors.AsType[*validation.Error](err); !ok || !consumer.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent *validation.Error", err)
			}
			if got := f.balance(t, "cust-42"); got != 5000 {
				t.Fatalf("balance = %d, want 5000", got)
			}
			if ps, err := f.repo.PaymentsByOrder(t.Context(), orderID); err != nil || len(ps) != 0 {
				t.Fatalf("payments = %+v, %v; want none", ps, err)
			}
			if out := f.outbox(t); len(out) != 0 {
				t.Fatalf("outbox = %+v, want empty", out)
			}
		})
	}
}

func TestOrderCancelledWithoutACaptureDoesNothing(t *testing.T) {
	f := setup(t)
	f.account(t, "cust-42", 100)
	failed, unknown := newOrderID(), newOrderID()
	if err := f.deliver(t, orderCreated(t, failed, "cust-42", 2899)); err != nil {
		t.Fatal(err)
	}
	for _, orderID := range []string{failed, unknown} {
		if err := f.deliver(t, orderCancelled(t, orderID, "cust-42")); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.balance(t, "cust-42"); got != 100 {
		t.Fatalf("balance = %d, want 100", got)
	}
	if out := f.outbox(t); len(out) != 1 || out[0].Type != events.TypePaymentFailed {
		t.Fatalf("outbox = %+v, want only the PaymentFailed", out)
	}
}

func TestUndecodablePayloadIsPermanent(t *testing.T) {
	f := setup(t)
	for _, typ := range []string{events.TypeOrderCreated, events.TypeOrderCancelled} {
		err := f.deliver(t, consumer.Event{ID: uuid.NewString(), Type: typ, Payload: []byte(`{"orderId": 42}`)})
		if !consumer.IsPermanent(err) {
			t.Fatalf("%s: err = %v, want permanent", typ, err)
		}
	}
}

func TestValidate(t *testing.T) {
	// What the app wires: the schema check of every type the mux handles.
	validate := consumer.Validator(schemas.Validate, kafkaapi.New(nil, nil).Mux().Types()...)
	good := orderCreated(t, newOrderID(), "cust-42", 10)
	for _, tc := range []struct {
		name    string
		ev      consumer.Event
		wantErr bool
	}{
		{"valid OrderCreated", good, false},
		{"OrderCreated without items", consumer.Event{Type: events.TypeOrderCreated, Payload: []byte(`{"orderId":"` + newOrderID() + `"}`)}, true},
		{"OrderCancelled not JSON", consumer.Event{Type: events.TypeOrderCancelled, Payload: []byte(`nope`)}, true},
		{"ignored type is not checked", consumer.Event{Type: events.TypeOrderConfirmed, Payload: []byte(`nope`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(tc.ev); (err != nil) != tc.wantErr {
				t.Fatalf("Validate = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// An order in another currency than the account's is a business failure:
// PaymentFailed with the reason, nothing debited.
func TestOrderInAnotherCurrencyFails(t *testing.T) {
	f := setup(t)
	a, err := payment.NewAccount("cust-usd", "USD", 5000, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.PutAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	orderID := newOrderID()
	if err := f.deliver(t, orderCreated(t, orderID, "cust-usd", 2899)); err != nil {
		t.Fatal(err)
	}
	if got := f.balance(t, "cust-usd"); got != 5000 {
		t.Fatalf("balance = %d, want 5000 (nothing debited)", got)
	}
	out := f.outbox(t)
	if len(out) != 1 || out[0].Type != events.TypePaymentFailed {
		t.Fatalf("outbox = %+v, want one PaymentFailed", out)
	}
	var failed events.PaymentFailed
	if err := json.Unmarshal(out[0].Payload, &failed); err != nil || failed.Reason != "currency mismatch: the account holds USD, the order is in EUR" {
		t.Fatalf("PaymentFailed = %+v (%v)", failed, err)
	}
}

// TestLockBatch checks that a batch's locks cover the accounts its events
// update, those of the customers it charges or refunds, and nothing else.
func TestLockBatch(t *testing.T) {
	f := setup(t)
	customers := []string{"cust-a", "cust-b", "cust-c", "cust-d"}
	for _, c := range customers {
		f.account(t, c, 10_000)
	}
	garbled := orderCreated(t, newOrderID(), "cust-d", 100)
	garbled.Payload = []byte(`{"customerId": 42`)
	for _, tc := range []struct {
		name string
		evs  []consumer.Event
		want []string
	}{
		{"charges and a refund", []consumer.Event{
			orderCreated(t, newOrderID(), "cust-c", 100), orderCancelled(t, newOrderID(), "cust-a"), orderCreated(t, newOrderID(), "cust-c", 100),
		}, []string{"cust-a", "cust-c"}},
		{"an unknown customer", []consumer.Event{orderCreated(t, newOrderID(), "cust-z", 100)}, nil},
		{"an undecodable payload locks nothing", []consumer.Event{garbled, orderCreated(t, newOrderID(), "cust-b", 100)}, []string{"cust-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := f.pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(t.Context()) }()
			b := &pgx.Batch{}
			if err := kafkaapi.New(f.repo, slog.New(slog.DiscardHandler)).LockBatch(t.Context(), b, tc.evs); err != nil {
				t.Fatal(err)
			}
			if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range customers {
				if pgtest.Locked(t, f.pool, `SELECT 1 FROM accounts WHERE customer_id = $1`, c) {
					got = append(got, c)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("locked %v, want %v", got, tc.want)
			}
		})
	}
}
