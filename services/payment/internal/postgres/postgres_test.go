package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
	"github.com/outboxcdc/outboxcdc/testkit/migrationtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var now = time.Date(2026, 3, 14, 9, 26, 53, 123456000, time.UTC)

const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

func TestAccounts(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()

	if _, err := repo.Account(ctx, "cust-1"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("unknown account: err = %v, want ErrNotFound", err)
	}
	a, _ := payment.NewAccount("cust-1", "EUR", 1000, now)
	got, err := repo.PutAccount(ctx, a)
	if err != nil || got.BalanceCents != 1000 || !got.CreatedAt.Equal(now) {
		t.Fatalf("PutAccount = %+v, %v", got, err)
	}
	later, _ := payment.NewAccount("cust-1", "EUR", 250, now.Add(time.Hour))
	got, err = repo.PutAccount(ctx, later)
	if err != nil || got.BalanceCents != 250 || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("PutAccount on an existing account = %+v, %v; want balance set, created_at kept", got, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts`); n != 1 {
		t.Fatalf("accounts = %d, want 1", n)
	}
	// The CHECK constraint backs up the domain's rule.
	_, err = repo.PutAccount(ctx, &payment.Account{CustomerID: "cust-2", Currency: "EUR", BalanceCents: -1, UpdatedAt: now})
	if err == nil {
		t.Fatal("a negative balance was stored")
	}
}

func TestSavePaymentWritesRowAndOutboxInOneTransaction(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	a, _ := payment.NewAccount("cust-1", "EUR", 5000, now)
	if _, err := repo.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		acct, err := repo.Ledger(tx).LockAccount(ctx, "cust-1")
		if err != nil {
			return err
		}
		p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1200}, acct, now)
		if err != nil {
			return err
		}
		if err := repo.Ledger(tx).SaveAccount(ctx, acct); err != nil {
			return err
		}
		return repo.Ledger(tx).SavePayment(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := repo.Account(ctx, "cust-1")
	if err != nil || stored.BalanceCents != 3800 {
		t.Fatalf("account = %+v, %v; want balance 3800", stored, err)
	}
	ps, err := repo.PaymentsByOrder(ctx, orderID)
	if err != nil || len(ps) != 1 || ps[0].Status != payment.StatusCaptured || ps[0].AmountCents != 1200 || ps[0].OrderID != orderID {
		t.Fatalf("payments = %+v, %v", ps, err)
	}
	var typ, aggType, aggID string
	var payload []byte
	if err := pool.QueryRow(ctx, `SELECT type, aggregatetype, aggregateid, payload FROM outbox`).Scan(&typ, &aggType, &aggID, &payload); err != nil {
		t.Fatal(err)
	}
	if typ != events.TypePaymentCaptured || aggType != events.AggregatePayment || aggID != orderID {
		t.Fatalf("outbox row = %s %s %s", typ, aggType, aggID)
	}
	if err := schemas.Validate(typ, payload); err != nil {
		t.Fatalf("outbox payload: %v", err)
	}

	// A second payment for the same order is a conflict, and its
	// transaction writes nothing.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c86", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1}, nil, now)
		if err != nil {
			return err
		}
		return repo.Ledger(tx).SavePayment(ctx, p)
	})
	if !errors.Is(err, payment.ErrConflict) {
		t.Fatalf("second payment for the order: err = %v, want ErrConflict", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("outbox rows = %d, want 1", n)
	}
}

func TestSavePaymentRejectsAPayloadThatBreaksItsSchema(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	// A lower-case currency gets past the domain's length check but not
	// the schema: the transaction must fail rather than ship it.
	p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "eur", TotalCents: 1}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return repo.Ledger(tx).SavePayment(ctx, p) })
	if !errors.Is(err, outbox.ErrInvalidEvent) || !errors.Is(err, schemas.ErrInvalid) {
		t.Fatalf("err = %v, want an invalid event", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM payments`) + count(t, pool, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("%d rows written, want none", n)
	}
}

func TestDeleteAfterInsertKeepsOutboxEmpty(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: true})
	ctx := t.Context()
	p, _ := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1}, nil, now)
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return repo.Ledger(tx).SavePayment(ctx, p) }); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM payments WHERE status = 'FAILED'`); n != 1 {
		t.Fatalf("failed payments = %d, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("outbox rows = %d, want 0", n)
	}
}
