package postgres_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T, opts postgres.Options) (*postgres.Repository, *pgxpool.Pool) {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	return postgres.New(pool, opts), pool
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func newEventID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func placed(t *testing.T, repo *postgres.Repository) order.Snapshot {
	t.Helper()
	o, err := order.Place(newID(), newEventID(), order.NewOrder{CustomerID: "cust-1", Currency: "EUR",
		Items: []order.Item{{SKU: "SKU-1", Quantity: 3, UnitPriceCents: 500}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, created, err := repo.Place(t.Context(), o, "", "")
	if err != nil || !created {
		t.Fatalf("Place = %v, %v", created, err)
	}
	return s
}

func count(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRoundTrip(t *testing.T) {
	repo, _ := setup(t, postgres.Options{})
	want := placed(t, repo)
	got, err := repo.Get(t.Context(), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	want.Version = 1 // saved once
	if !got.CreatedAt.Equal(want.CreatedAt) || got.TotalCents != 1500 || got.Version != want.Version ||
		len(got.Items) != 1 || got.Items[0] != want.Items[0] || len(got.History) != 1 || got.History[0] != want.History[0] {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
}

func TestSaveDetectsConcurrentChange(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	s := placed(t, repo)
	stored, err := repo.Get(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Two copies loaded without a lock; the second save must not win.
	a, b := order.Restore(stored), order.Restore(stored)
	a.ApplyPaymentCaptured(order.Cause{EventType: events.TypePaymentCaptured, EventID: newEventID()}, time.Now())
	b.ApplyInventoryReserved(order.Cause{EventType: events.TypeInventoryReserved, EventID: newEventID()}, time.Now())
	save := func(o *order.Order) error {
		return pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return repo.Book(tx).Save(t.Context(), o) })
	}
	if err := save(a); err != nil {
		t.Fatal(err)
	}
	if err := save(b); !errors.Is(err, order.ErrConflict) {
		t.Fatalf("stale save = %v, want ErrConflict", err)
	}
	got, _ := repo.Get(t.Context(), s.ID)
	if !got.PaymentCaptured || got.InventoryReserved || len(got.History) != 2 || got.Version != 2 {
		t.Fatalf("after the conflict: %+v", got)
	}
}

// An order's first answer sets a flag and leaves its status PENDING: the
// row is rewritten on its own page without touching an index (a heap-only
// update), even after the orders placed later have filled that page.
func TestFirstAnswerUpdatesTheOrderInPlace(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	ctx := t.Context()
	first := placed(t, repo)
	later := 0
	for {
		placed(t, repo)
		later++
		// Until the table's first page is full: orders on the next one.
		var pages int
		if err := pool.QueryRow(ctx, `SELECT count(DISTINCT (ctid::text::point)[0]) FROM orders`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages > 1 {
			break
		}
		if later > 1000 {
			t.Fatal("1,000 orders fit on one page")
		}
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		updated, heapOnly := pgtest.HeapOnlyUpdates(t, tx, "orders", func() error {
			outcome, _, after, err := order.React(ctx, repo.Book(tx), first.ID, func(o *order.Order) order.Outcome {
				return o.ApplyInventoryReserved(order.Cause{EventType: events.TypeInventoryReserved, EventID: newEventID()}, time.Now())
			})
			if err == nil && (outcome != order.Applied || after != order.StatusPending) {
				err = fmt.Errorf("answer: outcome %v, status %s; want applied, still pending", outcome, after)
			}
			return err
		})
		if updated != 1 || heapOnly != 1 {
			t.Errorf("%d rows updated, %d of them heap-only; want 1, heap-only", updated, heapOnly)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSaveRejectsEventBreakingItsSchema(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	s := placed(t, repo)
	stored, err := repo.Get(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupted aggregate: OrderCancelled requires a customer id.
	stored.CustomerID = ""
	o := order.Restore(stored)
	o.ApplyPaymentFailed(order.Cause{EventType: events.TypePaymentFailed, EventID: newEventID()}, "declined", time.Now())
	err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error { return repo.Book(tx).Save(t.Context(), o) })
	if !errors.Is(err, outbox.ErrInvalidEvent) {
		t.Fatalf("Save = %v, want outbox.ErrInvalidEvent", err)
	}
	got, _ := repo.Get(t.Context(), s.ID)
	if got.Status != order.StatusPending || len(got.History) != 1 {
		t.Fatalf("the failed transaction left changes: %+v", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE type = $1`, events.TypeOrderCancelled); n != 0 {
		t.Fatalf("%d OrderCancelled rows written", n)
	}
}

func TestDeleteAfterInsertKeepsOutboxEmpty(t *testing.T) {
	repo, pool := setup(t, postgres.Options{DeleteAfterInsert: true})
	placed(t, repo)
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("outbox has %d rows", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("orders has %d rows", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	in := order.NewOrder{CustomerID: "c", Currency: "EUR", Items: []order.Item{{SKU: "S", Quantity: 1, UnitPriceCents: 1}}}
	place := func(in order.NewOrder) (order.Snapshot, bool, error) {
		o, err := order.Place(newID(), newEventID(), in, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return repo.Place(t.Context(), o, "key-1", in.Fingerprint())
	}
	first, created, err := place(in)
	if err != nil || !created {
		t.Fatalf("first = %v, %v", created, err)
	}
	again, created, err := place(in)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("replay = %s, %v, %v; want %s, false, nil", again.ID, created, err, first.ID)
	}
	in.Items[0].Quantity = 2
	if _, _, err := place(in); !errors.Is(err, order.ErrIdempotencyKeyReused) {
		t.Fatalf("reuse = %v, want ErrIdempotencyKeyReused", err)
	}
	// The replays' rolled-back batches left nothing behind.
	if n := count(t, pool, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("orders = %d, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("outbox = %d rows, want the first order's event alone", n)
	}
}

func TestLockUnknownOrder(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	for _, id := range []string{newID(), "nope", ""} {
		err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
			_, err := repo.Book(tx).Lock(t.Context(), id)
			return err
		})
		if !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Lock(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	place := func(key string) string {
		in := order.NewOrder{CustomerID: "cust-1", Currency: "EUR", Items: []order.Item{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 100}}}
		o, err := order.Place(newID(), newEventID(), in, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := repo.Place(t.Context(), o, key, in.Fingerprint()); err != nil {
			t.Fatal(err)
		}
		return o.ID()
	}
	oldOrder := place("old-key")
	place("fresh-key")
	if _, err := pool.Exec(t.Context(), `UPDATE idempotency_keys SET created_at = now() - interval '8 days' WHERE key = 'old-key'`); err != nil {
		t.Fatal(err)
	}
	n, err := repo.PruneIdempotencyKeys(t.Context(), time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneIdempotencyKeys = %d, %v; want 1", n, err)
	}
	if got := count(t, pool, `SELECT count(*) FROM idempotency_keys WHERE key = 'fresh-key'`); got != 1 {
		t.Fatalf("the fresh key is gone")
	}
	if got := count(t, pool, `SELECT count(*) FROM idempotency_keys WHERE key = 'old-key'`); got != 0 {
		t.Fatalf("the old key is still there")
	}
	if _, err := repo.Get(t.Context(), oldOrder); err != nil {
		t.Fatalf("pruning a key removed its order: %v", err)
	}
}

// final is one report of postgres.Options.OnFinal.
type final struct {
	status             order.Status
	createdAt, finalAt time.Time
}

func TestOnFinalReportsAnOrderOnceItsFinalChangeCommits(t *testing.T) {
	var reports []final
	repo, pool := setup(t, postgres.Options{OnFinal: func(status order.Status, createdAt, finalAt time.Time) {
		reports = append(reports, final{status, createdAt, finalAt})
	}})
	errAbandon := errors.New("abandon")
	cause := func(typ string) order.Cause { return order.Cause{EventType: typ, EventID: newEventID()} }
	capture := func(o *order.Order) order.Outcome {
		return o.ApplyPaymentCaptured(cause(events.TypePaymentCaptured), time.Now())
	}
	reserve := func(o *order.Order) order.Outcome {
		return o.ApplyInventoryReserved(cause(events.TypeInventoryReserved), time.Now())
	}
	reject := func(o *order.Order) order.Outcome {
		return o.ApplyInventoryRejected(cause(events.TypeInventoryRejected), "none left", time.Now())
	}
	inPgtx := func(t *testing.T, fn func(pgx.Tx) error) error { return pgtx.BeginFunc(t.Context(), pool, fn) }
	inPlainTx := func(t *testing.T, fn func(pgx.Tx) error) error { return pgx.BeginFunc(t.Context(), pool, fn) }
	for _, tc := range []struct {
		name    string
		begin   func(*testing.T, func(pgx.Tx) error) error
		changes []func(*order.Order) order.Outcome // each applied in a transaction of its own
		abandon bool                               // roll the last one back
		want    order.Status                       // "" for no report
	}{
		{name: "confirmed", begin: inPgtx, changes: []func(*order.Order) order.Outcome{capture, reserve}, want: order.StatusConfirmed},
		{name: "cancelled", begin: inPgtx, changes: []func(*order.Order) order.Outcome{reject}, want: order.StatusCancelled},
		{name: "a step short of final", begin: inPgtx, changes: []func(*order.Order) order.Outcome{capture}},
		{name: "rolled back", begin: inPgtx, changes: []func(*order.Order) order.Outcome{capture, reserve}, abandon: true},
		{name: "late events change nothing", begin: inPgtx, changes: []func(*order.Order) order.Outcome{reject, capture, reserve}, want: order.StatusCancelled},
		{name: "a transaction pgtx did not begin", begin: inPlainTx, changes: []func(*order.Order) order.Outcome{reject}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reports = nil
			s := placed(t, repo)
			for i, change := range tc.changes {
				err := tc.begin(t, func(tx pgx.Tx) error {
					if _, _, _, err := order.React(t.Context(), repo.Book(tx), s.ID, change); err != nil {
						return err
					}
					if tc.abandon && i == len(tc.changes)-1 {
						return errAbandon
					}
					return nil
				})
				if err != nil && !errors.Is(err, errAbandon) {
					t.Fatal(err)
				}
			}
			if tc.want == "" {
				if len(reports) != 0 {
					t.Fatalf("reports = %+v, want none", reports)
				}
				return
			}
			stored, err := repo.Get(t.Context(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			var finalAt time.Time
			for _, h := range stored.History {
				if h.Status.Final() {
					finalAt = h.At
					break
				}
			}
			want := final{tc.want, stored.CreatedAt, finalAt}
			if len(reports) != 1 || reports[0].status != want.status || !reports[0].createdAt.Equal(want.createdAt) || !reports[0].finalAt.Equal(want.finalAt) {
				t.Fatalf("reports = %+v, want one %+v", reports, want)
			}
			if n := count(t, pool, `SELECT count(*) FROM orders WHERE id = $1 AND status = $2`, s.ID, string(tc.want)); n != 1 {
				t.Fatalf("order not stored as %s", tc.want)
			}
		})
	}
}

// TestLockThatCannotWaitIsAnError checks that a lock the transaction may
// not wait for (lock_timeout, as the consumer's batches set it) fails Lock
// with that error, reading it as "no such order" would drop the event, and
// that the connection then serves the next transaction correctly.
func TestLockThatCannotWaitIsAnError(t *testing.T) {
	repo, pool := setup(t, postgres.Options{})
	s := placed(t, repo)
	holder, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(t.Context())
	if _, err := repo.Book(holder).Lock(t.Context(), s.ID); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	err = pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), "SET LOCAL lock_timeout = '20ms'"); err != nil {
			return err
		}
		_, err := repo.Book(tx).Lock(t.Context(), s.ID)
		return err
	})
	if err == nil || errors.Is(err, order.ErrNotFound) {
		t.Fatalf("Lock of a row another transaction holds, with lock_timeout = %v; want the lock timeout", err)
	}
	if err := holder.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err = pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
			o, err := repo.Book(tx).Lock(t.Context(), s.ID)
			if err == nil && o.ID() != s.ID {
				return fmt.Errorf("locked %s, want %s", o.ID(), s.ID)
			}
			return err
		})
		if err != nil {
			t.Fatalf("Lock on the same connection afterwards = %v, want the order", err)
		}
	}
}

// Listing finds the orders each combination of filters names, newest
// first, and, on a service's connections (package pgdb: one plan per
// statement, whatever its arguments), reads the index that serves the
// combination.
func TestListReadsTheIndexOfItsFilters(t *testing.T) {
	dsn := migrationtest.Database(t, migrations.FS)
	pool, err := pgdb.OpenSized(t.Context(), dsn, 1, 5*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	repo := postgres.New(pool, postgres.Options{})
	type placedOrder struct {
		id, customer string
		status       order.Status
	}
	var all []placedOrder // oldest first
	for i := range 24 {
		customer := fmt.Sprintf("cust-%d", i%3)
		o, err := order.Place(newID(), newEventID(), order.NewOrder{CustomerID: customer, Currency: "EUR",
			Items: []order.Item{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 100}}}, time.Now().Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := repo.Place(t.Context(), o, "", ""); err != nil {
			t.Fatal(err)
		}
		all = append(all, placedOrder{o.Snapshot().ID, customer, order.StatusPending})
	}
	for i := range all {
		if i%2 == 0 {
			all[i].status = order.StatusConfirmed
			if _, err := pool.Exec(t.Context(), `UPDATE orders SET status = $2 WHERE id = $1`, all[i].id, string(all[i].status)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(t.Context(), `ANALYZE orders`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter order.Filter
		args   []any // the arguments of the statement, as List passes them
		index  string
	}{
		{"no filter", order.Filter{Limit: 5}, []any{5}, "orders_created_idx"},
		{"by customer", order.Filter{CustomerID: "cust-1", Limit: 5}, []any{"cust-1", 5}, "orders_customer_created_idx"},
		{"by status", order.Filter{Status: order.StatusPending, Limit: 5}, []any{"PENDING", 5}, "orders_status_created_idx"},
		{"by customer and status", order.Filter{CustomerID: "cust-2", Status: order.StatusConfirmed, Limit: 5},
			[]any{"cust-2", "CONFIRMED", 5}, "orders_customer_created_idx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := repo.List(t.Context(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := len(all) - 1; i >= 0 && len(want) < tc.filter.Limit; i-- {
				o := all[i]
				if (tc.filter.CustomerID == "" || o.customer == tc.filter.CustomerID) && (tc.filter.Status == "" || o.status == tc.filter.Status) {
					want = append(want, o.id)
				}
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Fatalf("List(%+v) = %v, want %v", tc.filter, ids, want)
			}
			// The plan the connection keeps for the statement List ran
			// last: the one prepared most recently.
			conn, err := pool.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			var name string
			err = conn.QueryRow(t.Context(), `SELECT name FROM pg_prepared_statements
WHERE statement LIKE 'SELECT id FROM orders%' ORDER BY prepare_time DESC LIMIT 1`).Scan(&name)
			if err != nil {
				t.Fatal(err)
			}
			// EXPLAIN takes no parameters: the arguments go as literals.
			literals := make([]string, len(tc.args))
			for i, a := range tc.args {
				literals[i] = fmt.Sprint(a)
				if s, ok := a.(string); ok {
					literals[i] = "'" + s + "'"
				}
			}
			var plan string
			explain := `EXPLAIN (FORMAT JSON) EXECUTE ` + pgx.Identifier{name}.Sanitize() + `(` + strings.Join(literals, ", ") + `)`
			if err := conn.QueryRow(t.Context(), explain).Scan(&plan); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, `"Index Name": "`+tc.index+`"`) {
				t.Errorf("List(%+v) is planned without %s:\n%s", tc.filter, tc.index, plan)
			}
		})
	}
}
