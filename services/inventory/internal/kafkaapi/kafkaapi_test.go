package kafkaapi_test

import (
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
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/kafkaapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
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

func setup(t *testing.T, stock map[string]int) fixture {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	log := slog.New(slog.DiscardHandler)
	repo := postgres.New(pool, postgres.Options{})
	for sku, n := range stock {
		s, err := inventory.NewStock(sku, n, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.PutStock(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{pool: pool, repo: repo, mux: kafkaapi.New(repo, log).Mux()}
}

// deliver runs the handler for ev in its own transaction, as the consumer
// runtime does, and commits when it succeeds.
func (f fixture) deliver(t *testing.T, ev consumer.Event) error {
	t.Helper()
	return pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error { return f.mux.Handle(t.Context(), tx, ev) })
}

// levels returns every stock row as [available, reserved].
func (f fixture) levels(t *testing.T) map[string][2]int {
	t.Helper()
	rows, err := f.pool.Query(t.Context(), `SELECT sku, available, reserved FROM stock`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int{}
	var sku string
	var a, r int
	if _, err := pgx.ForEachRow(rows, []any{&sku, &a, &r}, func() error { out[sku] = [2]int{a, r}; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// outbox returns the emitted events in order, each checked against its
// schema and its routing columns.
func (f fixture) outbox(t *testing.T) []eventtest.Row {
	t.Helper()
	return eventtest.Outbox(t, f.pool, eventtest.Expect{AggregateType: events.AggregateInventory, Validate: schemas.Validate})
}

func event(t *testing.T, typ, orderID string, payload any) consumer.Event {
	t.Helper()
	return eventtest.Event(t, events.TopicOrder, typ, orderID, payload)
}

// orderCreated builds an OrderCreated with lines given as SKU, quantity
// pairs.
func orderCreated(t *testing.T, orderID string, lines ...any) consumer.Event {
	t.Helper()
	oc := events.OrderCreated{OrderID: orderID, CustomerID: "cust-42", Currency: "EUR", CreatedAt: time.Now().UTC()}
	for i := 0; i < len(lines); i += 2 {
		oc.Items = append(oc.Items, events.OrderItem{SKU: lines[i].(string), Quantity: lines[i+1].(int), UnitPriceCents: 100})
		oc.TotalCents += int64(100 * lines[i+1].(int))
	}
	return event(t, events.TypeOrderCreated, orderID, oc)
}

func orderCancelled(t *testing.T, orderID string) consumer.Event {
	return event(t, events.TypeOrderCancelled, orderID, events.OrderCancelled{OrderID: orderID, CustomerID: "cust-42", Reason: "payment failed", CancelledAt: time.Now().UTC()})
}

func orderConfirmed(t *testing.T, orderID string) consumer.Event {
	return event(t, events.TypeOrderConfirmed, orderID, events.OrderConfirmed{OrderID: orderID, CustomerID: "cust-42", TotalCents: 1, Currency: "EUR", ConfirmedAt: time.Now().UTC()})
}

func newOrderID() string { return eventtest.NewID() }

func TestOrderCreated(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lines      []any
		wantType   string
		wantLevels map[string][2]int
		wantShort  []any
	}{
		{
			name: "every line covered", lines: []any{"A", 2, "B", 1},
			wantType: events.TypeInventoryReserved, wantLevels: map[string][2]int{"A": {3, 2}, "B": {0, 1}, "C": {1, 0}},
		},
		{
			name: "same SKU twice is summed", lines: []any{"A", 2, "A", 3},
			wantType: events.TypeInventoryReserved, wantLevels: map[string][2]int{"A": {0, 5}, "B": {1, 0}, "C": {1, 0}},
		},
		{
			name: "one short SKU leaves every row unchanged", lines: []any{"A", 2, "B", 2, "C", 1},
			wantType: events.TypeInventoryRejected, wantLevels: map[string][2]int{"A": {5, 0}, "B": {1, 0}, "C": {1, 0}},
			wantShort: []any{map[string]any{"sku": "B", "requested": float64(2), "available": float64(1)}},
		},
		{
			name: "unknown SKU is short with 0 available", lines: []any{"A", 1, "NO SUCH", 1},
			wantType: events.TypeInventoryRejected, wantLevels: map[string][2]int{"A": {5, 0}, "B": {1, 0}, "C": {1, 0}},
			wantShort: []any{map[string]any{"sku": "NO SUCH", "requested": float64(1), "available": float64(0)}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, map[string]int{"A": 5, "B": 1, "C": 1})
			orderID := newOrderID()
			if err := f.deliver(t, orderCreated(t, orderID, tc.lines...)); err != nil {
				t.Fatal(err)
			}
			if got := f.levels(t); !reflect.DeepEqual(got, tc.wantLevels) {
				t.Fatalf("stock = %v, want %v", got, tc.wantLevels)
			}
			out := f.outbox(t)
			if len(out) != 1 || out[0].Type != tc.wantType || out[0].AggregateID != orderID {
				t.Fatalf("outbox = %+v, want one %s keyed by the order", out, tc.wantType)
			}
			if tc.wantShort != nil && !reflect.DeepEqual(out[0].Fields["shortages"], tc.wantShort) {
				t.Fatalf("shortages = %v, want %v", out[0].Fields["shortages"], tc.wantShort)
			}
		})
	}
}

func TestOrderCreatedTwiceReservesOnce(t *testing.T) {
	f := setup(t, map[string]int{"A": 5})
	orderID := newOrderID()
	for range 3 {
		if err := f.deliver(t, orderCreated(t, orderID, "A", 2)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.levels(t)["A"]; got != [2]int{3, 2} {
		t.Fatalf("A = %v, want [3 2] (reserved once)", got)
	}
	if out := f.outbox(t); len(out) != 1 {
		t.Fatalf("outbox = %+v, want one InventoryReserved", out)
	}
}

// TestConcurrentOrdersNeverOversell runs 20 orders of one unit against a
// stock of 5, each in its own transaction at the same time.
func TestConcurrentOrdersNeverOversell(t *testing.T) {
	f := setup(t, map[string]int{"A": 5, "B": 100})
	const orders = 20
	errs := make([]error, orders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range orders {
		// Half the orders also take B, listed first, so lock order matters.
		ev := orderCreated(t, newOrderID(), "A", 1)
		if i%2 == 0 {
			ev = orderCreated(t, newOrderID(), "B", 1, "A", 1)
		}
		wg.Go(func() {
			<-start
			errs[i] = f.deliver(t, ev)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	levels := f.levels(t)
	if levels["A"] != [2]int{0, 5} {
		t.Fatalf("A = %v, want [0 5]", levels["A"])
	}
	if levels["B"][0]+levels["B"][1] != 100 {
		t.Fatalf("B = %v: available + reserved must stay 100", levels["B"])
	}
	var reserved, rejected int
	for _, r := range f.outbox(t) {
		switch r.Type {
		case events.TypeInventoryReserved:
			reserved++
		case events.TypeInventoryRejected:
			rejected++
		}
	}
	if reserved != 5 || rejected != orders-5 {
		t.Fatalf("%d reserved, %d rejected; want 5 and %d", reserved, rejected, orders-5)
	}
}

func TestConcurrentDuplicatesOfAnOrderWithOnlyUnknownSKUs(t *testing.T) {
	// No stock row to lock: the reservations primary key stops the second
	// insert and the runtime's retry then finds the first.
	f := setup(t, nil)
	orderID := newOrderID()
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ev := orderCreated(t, orderID, "GHOST", 1)
		wg.Go(func() {
			errs[i] = f.deliver(t, ev)
			if errors.Is(errs[i], inventory.ErrConflict) {
				errs[i] = f.deliver(t, ev)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if out := f.outbox(t); len(out) != 1 || out[0].Type != events.TypeInventoryRejected {
		t.Fatalf("outbox = %+v, want one InventoryRejected", out)
	}
}

func TestOrderCancelledReleases(t *testing.T) {
	f := setup(t, map[string]int{"A": 5, "B": 1})
	orderID := newOrderID()
	if err := f.deliver(t, orderCreated(t, orderID, "A", 2, "B", 1)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.deliver(t, orderCancelled(t, orderID)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.levels(t); !reflect.DeepEqual(got, map[string][2]int{"A": {5, 0}, "B": {1, 0}}) {
		t.Fatalf("stock = %v, want everything back", got)
	}
	out := f.outbox(t)
	if len(out) != 2 || out[1].Type != events.TypeInventoryReleased {
		t.Fatalf("outbox = %+v, want InventoryReserved then one InventoryReleased", out)
	}
	r, err := f.repo.ReservationOf(t.Context(), orderID)
	if err != nil || r.Status != inventory.StatusReleased {
		t.Fatalf("reservation = %+v, %v", r, err)
	}
}

func TestOrderCancelledHoldingNothingDoesNothing(t *testing.T) {
	f := setup(t, map[string]int{"A": 1})
	rejected, unknown := newOrderID(), newOrderID()
	if err := f.deliver(t, orderCreated(t, rejected, "A", 2)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{rejected, unknown} {
		if err := f.deliver(t, orderCancelled(t, id)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.levels(t)["A"]; got != [2]int{1, 0} {
		t.Fatalf("A = %v, want [1 0]", got)
	}
	if out := f.outbox(t); len(out) != 1 || out[0].Type != events.TypeInventoryRejected {
		t.Fatalf("outbox = %+v, want only the rejection", out)
	}
}

func TestOrderConfirmedCommits(t *testing.T) {
	f := setup(t, map[string]int{"A": 5})
	orderID := newOrderID()
	if err := f.deliver(t, orderCreated(t, orderID, "A", 2)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []consumer.Event{orderConfirmed(t, orderID), orderConfirmed(t, orderID), orderConfirmed(t, newOrderID())} {
		if err := f.deliver(t, ev); err != nil {
			t.Fatal(err)
		}
	}
	r, err := f.repo.ReservationOf(t.Context(), orderID)
	if err != nil || r.Status != inventory.StatusCommitted {
		t.Fatalf("reservation = %+v, %v; want COMMITTED", r, err)
	}
	if got := f.levels(t)["A"]; got != [2]int{3, 2} {
		t.Fatalf("A = %v, want [3 2]: confirming keeps the units reserved", got)
	}
	if out := f.outbox(t); len(out) != 1 {
		t.Fatalf("outbox = %+v, want only InventoryReserved", out)
	}
}

// TestEmittedTimesEqualStored: each event carries the time its
// reservation row was written with, to the microsecond.
func TestEmittedTimesEqualStored(t *testing.T) {
	f := setup(t, map[string]int{"A": 5})
	orderID := newOrderID()
	for _, ev := range []consumer.Event{orderCreated(t, orderID, "A", 2), orderCancelled(t, orderID)} {
		if err := f.deliver(t, ev); err != nil {
			t.Fatal(err)
		}
	}
	r, err := f.repo.ReservationOf(t.Context(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	out := f.outbox(t)
	if len(out) != 2 {
		t.Fatalf("outbox = %+v, want InventoryReserved, InventoryReleased", out)
	}
	for _, tc := range []struct {
		row    eventtest.Row
		field  string
		stored time.Time
	}{
		{out[0], "reservedAt", r.CreatedAt},
		{out[1], "releasedAt", r.UpdatedAt},
	} {
		at, err := time.Parse(time.RFC3339Nano, tc.row.Fields[tc.field].(string))
		if err != nil || !at.Equal(tc.stored) {
			t.Errorf("%s %s = %v (%v), want the stored %v", tc.row.Type, tc.field, at, err, tc.stored)
		}
	}
}

func TestUndecodablePayloadIsPermanent(t *testing.T) {
	f := setup(t, nil)
	for _, typ := range []string{events.TypeOrderCreated, events.TypeOrderCancelled, events.TypeOrderConfirmed} {
		err := f.deliver(t, consumer.Event{ID: uuid.NewString(), Type: typ, Payload: []byte(`{"orderId": 42}`)})
		if !consumer.IsPermanent(err) {
			t.Fatalf("%s: err = %v, want permanent", typ, err)
		}
	}
	err := f.deliver(t, orderCreated(t, newOrderID(), "A", 0))
	if !consumer.IsPermanent(err) {
		t.Fatalf("zero quantity: err = %v, want permanent", err)
	}
}

func TestValidate(t *testing.T) {
	// What the app wires: the schema check of every type the mux handles.
	validate := consumer.Validator(schemas.Validate, kafkaapi.New(nil, nil).Mux().Types()...)
	for _, tc := range []struct {
		name    string
		ev      consumer.Event
		wantErr bool
	}{
		{"valid OrderCreated", orderCreated(t, newOrderID(), "A", 1), false},
		{"zero quantity", orderCreated(t, newOrderID(), "A", 0), true},
		{"OrderConfirmed not JSON", consumer.Event{Type: events.TypeOrderConfirmed, Payload: []byte(`nope`)}, true},
		{"ignored type is not checked", consumer.Event{Type: events.TypePaymentCaptured, Payload: []byte(`nope`)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := validate(tc.ev); (err != nil) != tc.wantErr {
				t.Fatalf("Validate = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestLockBatch checks that a batch's locks cover the stock rows its
// events update: the SKUs of the orders it reserves and those held by the
// orders it releases, and nothing else.
func TestLockBatch(t *testing.T) {
	f := setup(t, map[string]int{"sku-a": 10, "sku-b": 10, "sku-c": 10, "sku-d": 10, "sku-e": 10})
	held := newOrderID()
	if err := f.deliver(t, orderCreated(t, held, "sku-d", 1)); err != nil {
		t.Fatal(err)
	}
	locked := func(t *testing.T, evs ...consumer.Event) []string {
		t.Helper()
		tx, err := f.pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(t.Context()) }()
		// Through the primary key: no more stock rows fetched than locked
		// (stock rows updated all the time are slow to scan).
		fetched := func() int {
			var n int
			if err := tx.QueryRow(t.Context(), `SELECT coalesce(seq_tup_read + idx_tup_fetch, 0) FROM pg_stat_xact_user_tables WHERE relname = 'stock'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := tx.Exec(t.Context(), `SET LOCAL enable_seqscan = off`); err != nil { // as the service's connections run (libs/pgdb)
			t.Fatal(err)
		}
		before := fetched()
		b := &pgx.Batch{}
		if err := kafkaapi.New(f.repo, slog.New(slog.DiscardHandler)).LockBatch(t.Context(), b, evs); err != nil {
			t.Fatal(err)
		}
		if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
			t.Fatal(err)
		}
		read := fetched() - before
		var out []string
		defer func() {
			if read > len(out) {
				t.Errorf("read %d stock rows to lock %d", read, len(out))
			}
		}()
		for _, sku := range []string{"sku-a", "sku-b", "sku-c", "sku-d", "sku-e"} {
			if pgtest.Locked(t, f.pool, `SELECT 1 FROM stock WHERE sku = $1`, sku) {
				out = append(out, sku)
			}
		}
		return out
	}
	garbled := orderCreated(t, newOrderID(), "sku-e", 1)
	garbled.Payload = []byte(`{"items": "not a list"`)
	for _, tc := range []struct {
		name string
		evs  []consumer.Event
		want []string
	}{
		{"reservations and a release", []consumer.Event{
			orderCreated(t, newOrderID(), "sku-c", 1, "sku-a", 2), orderCancelled(t, held), orderCreated(t, newOrderID(), "sku-a", 1),
		}, []string{"sku-a", "sku-c", "sku-d"}},
		{"a confirmation locks no stock", []consumer.Event{orderConfirmed(t, held)}, nil},
		{"a release without a reservation", []consumer.Event{orderCancelled(t, newOrderID())}, nil},
		{"an undecodable payload locks nothing", []consumer.Event{garbled, orderCreated(t, newOrderID(), "sku-b", 1)}, []string{"sku-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := locked(t, tc.evs...); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("locked %v, want %v", got, tc.want)
			}
		})
	}
}
