package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) (*pgxpool.Pool, *postgres.Repository) {
	t.Helper()
	pool := migrationtest.Pool(t, migrations.FS)
	return pool, postgres.New(pool, postgres.Options{})
}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var now = time.Date(2026, 3, 14, 9, 26, 53, 123456000, time.UTC)

const (
	orderID      = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"
	otherOrderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b11"
)

func put(t *testing.T, repo *postgres.Repository, sku string, n int) {
	t.Helper()
	s, err := inventory.NewStock(sku, n, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.PutStock(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

func TestStock(t *testing.T) {
	pool, repo := setup(t)
	ctx := t.Context()
	if _, err := repo.Stock(ctx, "A"); !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("unknown SKU: err = %v", err)
	}
	put(t, repo, "A", 5)
	// Reserve 2 so a later PUT can show it keeps the reserved count.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		room := repo.Stockroom(tx)
		st, _, err := room.LockStock(ctx, []string{"A", "missing"}, orderID, false)
		if err != nil {
			return err
		}
		if len(st) != 1 {
			t.Errorf("LockStock returned %d rows, want 1 (unknown SKUs absent)", len(st))
		}
		res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "A", Quantity: 2}}, st, now)
		if err != nil {
			return err
		}
		return room.SaveReservation(ctx, res, st["A"])
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, repo, "A", 10)
	s, err := repo.Stock(ctx, "A")
	if err != nil || s.Available != 10 || s.Reserved != 2 {
		t.Fatalf("stock = %+v, %v; want available 10, reserved 2", s, err)
	}
	// The CHECK constraints hold even when the code does not.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		res, _ := inventory.Reserve(otherOrderID, []inventory.Line{{SKU: "A", Quantity: 1}}, nil, now)
		return repo.Stockroom(tx).SaveReservation(ctx, res, &inventory.Stock{SKU: "A", Available: -1, Reserved: 13, UpdatedAt: now})
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23514" || pgErr.TableName != "stock" {
		t.Fatalf("negative available stock: err = %v, want the stock table's check violation", err)
	}
	if n := count(t, pool, `SELECT available FROM stock WHERE sku = 'A'`); n != 10 {
		t.Fatalf("available = %d after the refused write, want 10", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM reservations WHERE order_id = '`+otherOrderID+`'`); n != 0 {
		t.Fatalf("the refused write stored the reservation")
	}
}

func TestSaveReservation(t *testing.T) {
	pool, repo := setup(t)
	ctx := t.Context()
	put(t, repo, "A", 5)
	put(t, repo, "B", 5)

	var saved *inventory.Reservation
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		room := repo.Stockroom(tx)
		st, _, err := room.LockStock(ctx, []string{"A", "B"}, orderID, false)
		if err != nil {
			return err
		}
		res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "B", Quantity: 1}, {SKU: "A", Quantity: 2}}, st, now)
		if err != nil {
			return err
		}
		saved = res
		return room.SaveReservation(ctx, res, st["A"], st["B"])
	})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != 1 {
		t.Fatalf("version after insert = %d, want 1", saved.Version)
	}
	for sku, want := range map[string][2]int{"A": {3, 2}, "B": {4, 1}} {
		if s, err := repo.Stock(ctx, sku); err != nil || s.Available != want[0] || s.Reserved != want[1] || !s.UpdatedAt.Equal(now) {
			t.Fatalf("stock %s = %+v, %v; want %v", sku, s, err, want)
		}
	}
	got, err := repo.ReservationOf(ctx, orderID)
	if err != nil || got.Status != inventory.StatusReserved || len(got.Lines) != 2 || got.Lines[0] != (inventory.Line{SKU: "A", Quantity: 2}) || got.Version != 1 {
		t.Fatalf("reservation = %+v, %v", got, err)
	}
	var typ, aggType, aggID string
	var payload []byte
	if err := pool.QueryRow(ctx, `SELECT type, aggregatetype, aggregateid, payload FROM outbox`).Scan(&typ, &aggType, &aggID, &payload); err != nil {
		t.Fatal(err)
	}
	if typ != events.TypeInventoryReserved || aggType != events.AggregateInventory || aggID != orderID {
		t.Fatalf("outbox row = %s %s %s", typ, aggType, aggID)
	}
	if err := schemas.Validate(typ, payload); err != nil {
		t.Fatal(err)
	}

	// Two writers that loaded the same version: the second loses, and
	// keeps its version.
	for i, wantErr := range []error{nil, inventory.ErrConflict} {
		stale := *got
		stale.Lines = got.Lines
		stale.Commit(now.Add(time.Duration(i+1) * time.Second))
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return repo.Stockroom(tx).SaveReservation(ctx, &stale) })
		if !errors.Is(err, wantErr) {
			t.Fatalf("update %d: err = %v, want %v", i, err, wantErr)
		}
		if want := 1 + map[bool]int{true: 1}[wantErr == nil]; stale.Version != want {
			t.Fatalf("update %d: version = %d, want %d", i, stale.Version, want)
		}
	}
	// A second reservation for the order is refused outright.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		res, _ := inventory.Reserve(orderID, []inventory.Line{{SKU: "A", Quantity: 1}}, nil, now)
		return repo.Stockroom(tx).SaveReservation(ctx, res)
	})
	if !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("second reservation: err = %v, want ErrConflict", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM reservations WHERE status = 'COMMITTED'`); n != 2 {
		t.Fatalf("committed rows = %d, want 2", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("outbox rows = %d, want 1 (commit emits nothing)", n)
	}
}

// A change of a reservation's status rewrites its rows on their own pages
// without touching an index (a heap-only update): every order's
// reservation changes status once or twice.
func TestReservationStatusChangesAreHeapOnly(t *testing.T) {
	pool, repo := setup(t)
	ctx := t.Context()
	put(t, repo, "A", 5)
	put(t, repo, "B", 5)
	lines := []inventory.Line{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}
	for _, id := range []string{orderID, otherOrderID} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			room := repo.Stockroom(tx)
			st, _, err := room.LockStock(ctx, []string{"A", "B"}, id, false)
			if err != nil {
				return err
			}
			res, err := inventory.Reserve(id, lines, st, now)
			if err != nil {
				return err
			}
			return room.SaveReservation(ctx, res, st["A"], st["B"])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, orderID string
		change        func(*inventory.Reservation, map[string]*inventory.Stock) ([]*inventory.Stock, error)
	}{
		{"committed", orderID, func(r *inventory.Reservation, _ map[string]*inventory.Stock) ([]*inventory.Stock, error) {
			r.Commit(now.Add(time.Second))
			return nil, nil
		}},
		{"released", otherOrderID, func(r *inventory.Reservation, st map[string]*inventory.Stock) ([]*inventory.Stock, error) {
			_, err := r.Release(st, now.Add(time.Second))
			return []*inventory.Stock{st["A"], st["B"]}, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				updated, heapOnly := pgtest.HeapOnlyUpdates(t, tx, "reservations", func() error {
					room := repo.Stockroom(tx)
					st, res, err := room.LockStock(ctx, []string{"A", "B"}, tt.orderID, true)
					if err != nil {
						return err
					}
					stock, err := tt.change(res, st)
					if err != nil {
						return err
					}
					return room.SaveReservation(ctx, res, stock...)
				})
				if updated != len(lines) || heapOnly != updated {
					t.Errorf("%d rows updated, %d of them heap-only; want %d, all heap-only", updated, heapOnly, len(lines))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSaveReservationIsAllOrNothing fails SaveReservation at each of its
// parts: the transaction that called it keeps neither the stock counts,
// nor the reservation, nor its outbox rows.
func TestSaveReservationIsAllOrNothing(t *testing.T) {
	pool, repo := setup(t)
	ctx := t.Context()
	put(t, repo, "A", 5)
	put(t, repo, "B", 5)
	// orderID holds 2 of A. stale is its reservation as loaded before a
	// concurrent commit moved it on to version 2.
	var stale *inventory.Reservation
	for _, step := range []func(tx pgx.Tx) error{
		func(tx pgx.Tx) error {
			_, _, err := inventory.ReserveOrder(ctx, repo.Stockroom(tx), orderID, []inventory.Line{{SKU: "A", Quantity: 2}}, now)
			return err
		},
		func(tx pgx.Tx) error {
			var err error
			stale, err = repo.Stockroom(tx).Reservation(ctx, orderID, false)
			return err
		},
		func(tx pgx.Tx) error {
			_, _, err := inventory.CommitOrder(ctx, repo.Stockroom(tx), orderID, now)
			return err
		},
	} {
		if err := pgx.BeginFunc(ctx, pool, step); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name string
		// save makes the write, on stock rows locked for it.
		save    func(room inventory.Stockroom, st map[string]*inventory.Stock) error
		wantErr error
		wantPg  string // the SQLSTATE of the PostgreSQL error, if one
	}{
		{
			name: "stock row not stored",
			save: func(room inventory.Stockroom, st map[string]*inventory.Stock) error {
				res, err := inventory.Reserve(otherOrderID, []inventory.Line{{SKU: "B", Quantity: 1}}, st, now)
				if err != nil {
					return err
				}
				return room.SaveReservation(ctx, res, st["B"], &inventory.Stock{SKU: "GONE", Available: 1, UpdatedAt: now})
			},
			wantErr: inventory.ErrNotFound,
		},
		{
			name: "stock below zero",
			save: func(room inventory.Stockroom, st map[string]*inventory.Stock) error {
				res, err := inventory.Reserve(otherOrderID, []inventory.Line{{SKU: "B", Quantity: 1}}, st, now)
				if err != nil {
					return err
				}
				st["B"].Available = -1
				return room.SaveReservation(ctx, res, st["B"])
			},
			wantPg: "23514",
		},
		{
			name: "second reservation for the order",
			save: func(room inventory.Stockroom, st map[string]*inventory.Stock) error {
				res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "A", Quantity: 1}}, st, now)
				if err != nil {
					return err
				}
				return room.SaveReservation(ctx, res, st["A"])
			},
			wantErr: inventory.ErrConflict,
		},
		{
			name: "update that lost to a concurrent one",
			save: func(room inventory.Stockroom, st map[string]*inventory.Stock) error {
				res := *stale
				if released, err := res.Release(st, now); err != nil || !released {
					return fmt.Errorf("release = %v, %w", released, err)
				}
				return room.SaveReservation(ctx, &res, st["A"])
			},
			wantErr: inventory.ErrConflict,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, pool)
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				room := repo.Stockroom(tx)
				st, _, err := room.LockStock(ctx, []string{"A", "B"}, orderID, false)
				if err != nil {
					return err
				}
				return tc.save(room, st)
			})
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); tc.wantPg != "" && (!ok || pgErr.Code != tc.wantPg) {
				t.Fatalf("err = %v, want SQLSTATE %s", err, tc.wantPg)
			}
			if err == nil {
				t.Fatal("the write succeeded")
			}
			if after := snapshot(t, pool); after != before {
				t.Fatalf("after the failed write:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// snapshot describes the stock, reservations and outbox rows stored.
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var out string
	err := pool.QueryRow(t.Context(), `SELECT
  (SELECT string_agg(format('%s %s/%s', sku, available, reserved), ', ' ORDER BY sku) FROM stock) || E'\n' ||
  coalesce((SELECT string_agg(format('%s %s %s v%s', order_id, sku, status, version), ', ' ORDER BY order_id, sku) FROM reservations), '') || E'\n' ||
  coalesce((SELECT string_agg(type, ', ' ORDER BY id) FROM outbox), '')`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSaveReservationConflictIsOnlyASecondReservation: a unique violation
// of another table is an error, but not inventory.ErrConflict, which tells
// the caller that a retry will find the order's reservation.
func TestSaveReservationConflictIsOnlyASecondReservation(t *testing.T) {
	pool, repo := setup(t)
	ctx := t.Context()
	put(t, repo, "A", 5)
	// An outbox that takes one event per order: the release's clashes.
	if _, err := pool.Exec(ctx, `CREATE UNIQUE INDEX outbox_one_per_order ON outbox (aggregateid)`); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, _, err := inventory.ReserveOrder(ctx, repo.Stockroom(tx), orderID, []inventory.Line{{SKU: "A", Quantity: 2}}, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, _, err := inventory.ReleaseOrder(ctx, repo.Stockroom(tx), orderID, now)
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23505" || pgErr.TableName != "outbox" {
		t.Fatalf("err = %v, want the outbox's unique violation", err)
	}
	if errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("err = %v is ErrConflict", err)
	}
	if s, err := repo.Stock(ctx, "A"); err != nil || s.Available != 3 || s.Reserved != 2 {
		t.Fatalf("stock = %+v, %v; want the reservation kept", s, err)
	}
}

func TestSaveReservationSendsOneBatch(t *testing.T) {
	pool, trips := migrationtest.CountedPool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	put(t, repo, "A", 5)
	put(t, repo, "B", 5)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		room := repo.Stockroom(tx)
		st, _, err := room.LockStock(ctx, []string{"A", "B"}, orderID, false)
		if err != nil {
			return err
		}
		res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 1}}, st, now)
		if err != nil {
			return err
		}
		return trips.OneBatch(t, "SaveReservation", func() error { return room.SaveReservation(ctx, res, st["A"], st["B"]) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, pool); got != "A 4/1, B 4/1\n"+orderID+" A RESERVED v1, "+orderID+" B RESERVED v1\nInventoryReserved" {
		t.Fatalf("stored:\n%s", got)
	}
}

func TestReservationNotFound(t *testing.T) {
	pool, repo := setup(t)
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := repo.Stockroom(tx).Reservation(t.Context(), orderID, true)
		return err
	})
	if !errors.Is(err, inventory.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// LockStock reads the order's reservation in the same round trip as it
// locks the stock, locking the reservation too when asked; unknown SKUs
// and a missing reservation are absent.
func TestLockStockReadsTheReservationInTheSameTrip(t *testing.T) {
	pool, trips := migrationtest.CountedPool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	put(t, repo, "A", 5)
	put(t, repo, "B", 1)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, _, err := inventory.ReserveOrder(ctx, repo.Stockroom(tx), orderID, []inventory.Line{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		skus            []string
		order           string
		lockReservation bool
		wantSKUs        int
		wantReservation bool
	}{
		{"stock and reservation", []string{"A", "B"}, orderID, false, 2, true},
		{"stock and reservation, both locked", []string{"A", "B"}, orderID, true, 2, true},
		{"unknown SKU, no reservation", []string{"A", "missing"}, otherOrderID, true, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				var stock map[string]*inventory.Stock
				var res *inventory.Reservation
				if err := trips.OneBatch(t, "LockStock", func() (err error) {
					stock, res, err = repo.Stockroom(tx).LockStock(ctx, tc.skus, tc.order, tc.lockReservation)
					return err
				}); err != nil {
					return err
				}
				if len(stock) != tc.wantSKUs || (res != nil) != tc.wantReservation {
					t.Fatalf("stock %v, reservation %+v; want %d rows, reservation %v", stock, res, tc.wantSKUs, tc.wantReservation)
				}
				if a := stock["A"]; a == nil || a.Available != 3 || a.Reserved != 2 {
					t.Errorf("stock A = %+v, want 3 available, 2 reserved", a)
				}
				if res != nil && (res.OrderID != orderID || res.Status != inventory.StatusReserved || len(res.Lines) != 2) {
					t.Errorf("reservation %+v, want the two lines of %s reserved", res, orderID)
				}
				if !pgtest.Locked(t, pool, `SELECT 1 FROM stock WHERE sku = $1`, "A") {
					t.Error("stock A not locked")
				}
				if got, want := pgtest.Locked(t, pool, `SELECT 1 FROM reservations WHERE order_id = $1`, orderID), tc.lockReservation && tc.wantReservation; got != want {
					t.Errorf("reservation locked: %v, want %v", got, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
