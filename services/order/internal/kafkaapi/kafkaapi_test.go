package kafkaapi_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/kafkaapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
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
	repo := postgres.New(pool, postgres.Options{})
	return fixture{pool: pool, repo: repo, mux: kafkaapi.New(repo, slog.New(slog.DiscardHandler)).Mux()}
}

// place stores a new PENDING order and returns its id.
func (f fixture) place(t *testing.T) string {
	t.Helper()
	o, err := order.Place(uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()), order.NewOrder{CustomerID: "cust-1", Currency: "EUR",
		Items: []order.Item{{SKU: "SKU-1", Quantity: 2, UnitPriceCents: 500}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.repo.Place(t.Context(), o, "", ""); err != nil {
		t.Fatal(err)
	}
	return o.ID()
}

// deliver runs the handler for ev in its own transaction, as the consumer
// runtime does, and commits when it succeeds.
func (f fixture) deliver(t *testing.T, ev consumer.Event) error {
	t.Helper()
	return pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.mux.Handle(t.Context(), tx, ev) })
}

func (f fixture) order(t *testing.T, id string) order.Snapshot {
	t.Helper()
	s, err := f.repo.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The events of the payment and inventory services, for order id.
func captured(t *testing.T, id string) consumer.Event {
	return eventtest.Event(t, events.TopicPayment, events.TypePaymentCaptured, id, events.PaymentCaptured{
		PaymentID: uuid.NewString(), OrderID: id, CustomerID: "cust-1", AmountCents: 1000, Currency: "EUR", CapturedAt: time.Now().UTC()})
}

func paymentFailed(t *testing.T, id string) consumer.Event {
	return eventtest.Event(t, events.TopicPayment, events.TypePaymentFailed, id, events.PaymentFailed{
		OrderID: id, CustomerID: "cust-1", AmountCents: 1000, Currency: "EUR", Reason: "insufficient balance", FailedAt: time.Now().UTC()})
}

func reserved(t *testing.T, id string) consumer.Event {
	return eventtest.Event(t, events.TopicInventory, events.TypeInventoryReserved, id, events.InventoryReserved{
		OrderID: id, Items: []events.StockItem{{SKU: "SKU-1", Quantity: 2}}, ReservedAt: time.Now().UTC()})
}

func rejected(t *testing.T, id string) consumer.Event {
	return eventtest.Event(t, events.TopicInventory, events.TypeInventoryRejected, id, events.InventoryRejected{
		OrderID: id, Reason: "out of stock: SKU-1", RejectedAt: time.Now().UTC()})
}

// Each handled event type moves the order as the domain decides, and the
// order's new events reach the outbox in the same transaction.
func TestEventsMoveTheOrder(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name    string
		events  []func(*testing.T, string) consumer.Event
		status  order.Status
		outbox  []string // the order's event types, oldest first
		reason  string   // the cancellation reason, "" unless cancelled
		history int
	}{
		{"payment alone keeps it pending", []func(*testing.T, string) consumer.Event{captured}, order.StatusPending,
			[]string{events.TypeOrderCreated}, "", 2},
		{"payment then stock confirms", []func(*testing.T, string) consumer.Event{captured, reserved}, order.StatusConfirmed,
			[]string{events.TypeOrderCreated, events.TypeOrderConfirmed}, "", 3},
		{"stock then payment confirms", []func(*testing.T, string) consumer.Event{reserved, captured}, order.StatusConfirmed,
			[]string{events.TypeOrderCreated, events.TypeOrderConfirmed}, "", 3},
		{"a failed payment cancels", []func(*testing.T, string) consumer.Event{paymentFailed}, order.StatusCancelled,
			[]string{events.TypeOrderCreated, events.TypeOrderCancelled}, "payment failed: insufficient balance", 2},
		{"rejected stock cancels", []func(*testing.T, string) consumer.Event{rejected}, order.StatusCancelled,
			[]string{events.TypeOrderCreated, events.TypeOrderCancelled}, "inventory rejected: out of stock: SKU-1", 2},
		{"a finished order does not move", []func(*testing.T, string) consumer.Event{rejected, captured, reserved}, order.StatusCancelled,
			[]string{events.TypeOrderCreated, events.TypeOrderCancelled}, "inventory rejected: out of stock: SKU-1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := f.place(t)
			for _, ev := range tt.events {
				if err := f.deliver(t, ev(t, id)); err != nil {
					t.Fatal(err)
				}
			}
			s := f.order(t, id)
			if s.Status != tt.status || len(s.History) != tt.history || s.CancellationReason != tt.reason {
				t.Fatalf("order = status %s, %d history entries, reason %q; want %s, %d, %q",
					s.Status, len(s.History), s.CancellationReason, tt.status, tt.history, tt.reason)
			}
			rows := eventtest.Outbox(t, f.pool, eventtest.Expect{AggregateType: events.AggregateOrder, Validate: schemas.Validate}, id)
			var types []string
			for _, r := range rows {
				types = append(types, r.Type)
			}
			if len(types) != len(tt.outbox) {
				t.Fatalf("outbox = %v, want %v", types, tt.outbox)
			}
			for i := range types {
				if types[i] != tt.outbox[i] {
					t.Fatalf("outbox = %v, want %v", types, tt.outbox)
				}
			}
		})
	}
}

// At debug level each applied event logs one line with the event's
// attributes and what it did; at info it logs nothing.
func TestEventLogLines(t *testing.T) {
	base := setup(t)
	tests := []struct {
		name  string
		level slog.Level
		want  []string // substrings of the one line, or nil for no line
	}{
		{"debug", slog.LevelDebug, []string{`"msg":"order updated"`, `"event_type":"PaymentCaptured"`, `"topic":"outbox.event.payment"`,
			`"partition":0`, `"offset":0`, `"from_status":"PENDING"`, `"status":"PENDING"`}},
		{"info", slog.LevelInfo, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := base
			f.mux = kafkaapi.New(base.repo, slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: tt.level}))).Mux()
			id := f.place(t)
			ev := captured(t, id)
			if err := f.deliver(t, ev); err != nil {
				t.Fatal(err)
			}
			line := strings.TrimSpace(out.String())
			if tt.want == nil {
				if line != "" {
					t.Fatalf("logged %s, want nothing", line)
				}
				return
			}
			if strings.Count(line, "\n") != 0 {
				t.Fatalf("logged %d lines, want one:\n%s", strings.Count(line, "\n")+1, line)
			}
			for _, w := range append(tt.want, `"event_id":"`+ev.ID+`"`, `"order_id":"`+id+`"`) {
				if !strings.Contains(line, w) {
					t.Errorf("line %s lacks %s", line, w)
				}
			}
		})
	}
}

// An event for an order this service does not know fails, and changes
// nothing; the failure is not permanent, so the consumer retries it: the
// order may only not be visible yet.
func TestEventForAnUnknownOrderIsRetried(t *testing.T) {
	f := setup(t)
	err := f.deliver(t, captured(t, uuid.NewString()))
	if !errors.Is(err, order.ErrNotFound) || consumer.IsPermanent(err) {
		t.Fatalf("deliver = %v, want order.ErrNotFound, not permanent", err)
	}
	for _, table := range []string{"orders", "outbox"} {
		var n int
		if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s rows = %d (%v), want 0", table, n, err)
		}
	}
}

func TestUndecodablePayloadIsPermanent(t *testing.T) {
	f := setup(t)
	id := f.place(t)
	ev := eventtest.Event(t, events.TopicPayment, events.TypePaymentCaptured, id, []byte(`{"orderId": 42}`))
	if err := f.deliver(t, ev); !consumer.IsPermanent(err) {
		t.Fatalf("deliver = %v, want a permanent error", err)
	}
	if s := f.order(t, id); s.Status != order.StatusPending || len(s.History) != 1 {
		t.Fatalf("order changed: %+v", s)
	}
}

// What the app wires: the schema check of every type the mux handles, and
// the topics those types travel on.
func TestValidateAndTopicsFollowTheMux(t *testing.T) {
	mux := kafkaapi.New(nil, nil).Mux()
	if got := events.TopicsOf(mux.Types()...); len(got) != 2 || got[0] != events.TopicInventory || got[1] != events.TopicPayment {
		t.Fatalf("topics = %v, want the inventory and payment topics", got)
	}
	validate := consumer.Validator(schemas.Validate, mux.Types()...)
	for _, tc := range []struct {
		name    string
		ev      consumer.Event
		wantErr bool
	}{
		{"valid PaymentCaptured", captured(t, uuid.NewString()), false},
		{"PaymentFailed without a reason", consumer.Event{Type: events.TypePaymentFailed, Payload: []byte(`{"orderId":"` + uuid.NewString() + `"}`)}, true},
		{"InventoryRejected not JSON", consumer.Event{Type: events.TypeInventoryRejected, Payload: []byte(`nope`)}, true},
		{"ignored type is not checked", consumer.Event{Type: events.TypePaymentRefunded, Payload: []byte(`nope`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(tc.ev); (err != nil) != tc.wantErr {
				t.Fatalf("Validate = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
