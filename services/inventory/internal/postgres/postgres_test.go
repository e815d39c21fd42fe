package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

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
		st, err := room.LockStock(ctx, []string{"A", "missing"})
		if err != nil {
			return err
		}
		if len(st) != 1 {
			t.Errorf("LockStock returned %d rows, want 1 (unknown SKUs absent)", len(st))
		}
		st["A"].Available, st["A"].Reserved = 3, 2
		return room.SaveStock(ctx, st["A"])
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
		return repo.Stockroom(tx).SaveStock(ctx, &inventory.Stock{SKU: "A", Available: -1, Reserved: 13, UpdatedAt: now})
	})
	if err == nil {
		t.Fatal("negative available stock was stored")
	}
	if n := count(t, pool, `SELECT available FROM stock WHERE sku = 'A'`); n != 10 {
		t.Fatalf("available = %d after the refused write, want 10", n)
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
		st, err := room.LockStock(ctx, []string{"A", "B"})
		if err != nil {
			return err
		}
		res, err := inventory.Reserve(orderID, []inventory.Line{{SKU: "B", Quantity: 1}, {SKU: "A", Quantity: 2}}, st, now)
		if err != nil {
			return err
		}
		if err := room.SaveStock(ctx, st["A"], st["B"]); err != nil {
			return err
		}
		saved = res
		return room.SaveReservation(ctx, res)
	})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != 1 {
		t.Fatalf("version after insert = %d, want 1", saved.Version)
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

	// Two writers that loaded the same version: the second loses.
	for i, wantErr := range []error{nil, inventory.ErrConflict} {
		stale := *got
		stale.Lines = got.Lines
		stale.Commit(now.Add(time.Duration(i+1) * time.Second))
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return repo.Stockroom(tx).SaveReservation(ctx, &stale) })
		if !errors.Is(err, wantErr) {
			t.Fatalf("update %d: err = %v, want %v", i, err, wantErr)
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
