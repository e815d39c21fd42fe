package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// charge runs a charge of order against the customer's account (when it
// has one) in its own transaction, the way ChargeOrder writes it: the
// debited account, the payment and its event in one SavePayment.
func charge(t *testing.T, pool *pgxpool.Pool, repo *postgres.Repository, paymentID string, order payment.Order) error {
	t.Helper()
	ctx := t.Context()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		l := repo.Ledger(tx)
		acct, _, err := l.LockAccount(ctx, order.CustomerID, order.ID, false)
		if err != nil {
			return err
		}
		p, err := payment.Charge(paymentID, order, acct, now)
		if err != nil {
			return err
		}
		if p.Status != payment.StatusCaptured {
			acct = nil
		}
		return l.SavePayment(ctx, p, acct)
	})
}

// captured stores cust-1's account with a balance of 5000 and captures
// 1200 of it for orderID, the way ChargeOrder does: the balance is 3800
// afterwards.
func captured(t *testing.T, pool *pgxpool.Pool, repo *postgres.Repository) {
	t.Helper()
	a, _ := payment.NewAccount("cust-1", "EUR", 5000, now)
	if _, err := repo.PutAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := charge(t, pool, repo, "0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1200}); err != nil {
		t.Fatal(err)
	}
}

func TestSavePaymentWritesAccountRowAndOutboxInOneTransaction(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	captured(t, pool, repo)
	stored, err := repo.Account(ctx, "cust-1")
	if err != nil || stored.BalanceCents != 3800 || !stored.UpdatedAt.Equal(now) {
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

	// The refund updates the payment's status and credits the account,
	// again with its event.
	later := now.Add(time.Minute)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		l := repo.Ledger(tx)
		acct, p, err := l.LockAccount(ctx, "cust-1", orderID, true)
		if err != nil {
			return err
		}
		if acct == nil || p == nil {
			return fmt.Errorf("account %v, payment %v; want both", acct, p)
		}
		if refunded, err := p.Refund(acct, later); err != nil || !refunded {
			return fmt.Errorf("refund = %v, %w", refunded, err)
		}
		return l.SavePayment(ctx, p, acct)
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err = repo.Account(ctx, "cust-1")
	if err != nil || stored.BalanceCents != 5000 || !stored.UpdatedAt.Equal(later) {
		t.Fatalf("account after the refund = %+v, %v; want balance 5000", stored, err)
	}
	ps, err = repo.PaymentsByOrder(ctx, orderID)
	if err != nil || len(ps) != 1 || ps[0].Status != payment.StatusRefunded || !ps[0].UpdatedAt.Equal(later) {
		t.Fatalf("payments after the refund = %+v, %v", ps, err)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE type = $1`, events.TypePaymentRefunded); n != 1 {
		t.Fatalf("PaymentRefunded rows = %d, want 1", n)
	}
}

// TestSavePaymentIsAllOrNothing fails SavePayment at each of its parts:
// the transaction that called it keeps neither the balance, nor the
// payment, nor its outbox row.
func TestSavePaymentIsAllOrNothing(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	for _, customer := range []string{"cust-1", "cust-2"} {
		a, _ := payment.NewAccount(customer, "EUR", 5000, now)
		if _, err := repo.PutAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// cust-2 has paid for this order already.
	const paidOrder = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b11"
	if err := charge(t, pool, repo, "0193b6f2-8a02-7c11-b5e3-2d9a71f04c80", payment.Order{ID: paidOrder, CustomerID: "cust-2", Currency: "EUR", TotalCents: 1000}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		orderID string
		acct    *payment.Account // debited, as Charge leaves it
		amount  int64
		// currency of the order; a lower-case one gets past the domain's
		// length check but not the event's schema.
		currency string
		wantErr  []error
	}{
		{"account not stored", "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b21",
			&payment.Account{CustomerID: "cust-9", Currency: "EUR", BalanceCents: 100}, 100, "EUR", []error{payment.ErrNotFound}},
		{"second payment for the order", paidOrder,
			&payment.Account{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 5000}, 1, "EUR", []error{payment.ErrConflict}},
		{"event breaks its schema", "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b23",
			&payment.Account{CustomerID: "cust-1", Currency: "eur", BalanceCents: 5000}, 1, "eur", []error{outbox.ErrInvalidEvent, schemas.ErrInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count(t, pool, `SELECT count(*) FROM outbox`)
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c99", payment.Order{ID: tc.orderID, CustomerID: tc.acct.CustomerID, Currency: tc.currency, TotalCents: tc.amount}, tc.acct, now)
				if err != nil {
					return err
				}
				if p.Status != payment.StatusCaptured {
					return fmt.Errorf("charge %s: %s", p.Status, p.Reason)
				}
				return repo.Ledger(tx).SavePayment(ctx, p, tc.acct)
			})
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
			if n := count(t, pool, `SELECT count(*) FROM outbox`); n != before {
				t.Fatalf("outbox rows = %d, want %d", n, before)
			}
			if n := count(t, pool, `SELECT count(*) FROM payments WHERE id = '0193b6f2-8a02-7c11-b5e3-2d9a71f04c99'`); n != 0 {
				t.Fatalf("the payment was stored")
			}
			for customer, want := range map[string]int64{"cust-1": 5000, "cust-2": 4000} {
				if a, err := repo.Account(ctx, customer); err != nil || a.BalanceCents != want {
					t.Fatalf("account %s = %+v, %v; want balance %d", customer, a, err, want)
				}
			}
		})
	}
}

// TestSavePaymentConflictIsOnlyASecondPayment: a unique violation of
// another table is an error, but not payment.ErrConflict, which tells the
// caller that a retry will find the order's payment.
func TestSavePaymentConflictIsOnlyASecondPayment(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	// An outbox that takes one event per order: the refund's event clashes.
	if _, err := pool.Exec(ctx, `CREATE UNIQUE INDEX outbox_one_per_order ON outbox (aggregateid)`); err != nil {
		t.Fatal(err)
	}
	captured(t, pool, repo)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		l := repo.Ledger(tx)
		acct, p, err := l.LockAccount(ctx, "cust-1", orderID, true)
		if err != nil {
			return err
		}
		if acct == nil || p == nil {
			return fmt.Errorf("account %v, payment %v; want both", acct, p)
		}
		if _, err := p.Refund(acct, now); err != nil {
			return err
		}
		return l.SavePayment(ctx, p, acct)
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23505" || pgErr.TableName != "outbox" {
		t.Fatalf("err = %v, want the outbox's unique violation", err)
	}
	if errors.Is(err, payment.ErrConflict) {
		t.Fatalf("err = %v is ErrConflict", err)
	}
	if ps, err := repo.PaymentsByOrder(ctx, orderID); err != nil || len(ps) != 1 || ps[0].Status != payment.StatusCaptured {
		t.Fatalf("payments = %+v, %v; want the capture kept", ps, err)
	}
	if a, err := repo.Account(ctx, "cust-1"); err != nil || a.BalanceCents != 3800 {
		t.Fatalf("account = %+v, %v; want balance 3800", a, err)
	}
}

func TestSavePaymentSendsOneBatch(t *testing.T) {
	pool, trips := migrationtest.CountedPool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	a, _ := payment.NewAccount("cust-1", "EUR", 5000, now)
	if _, err := repo.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		l := repo.Ledger(tx)
		acct, _, err := l.LockAccount(ctx, "cust-1", orderID, false)
		if err != nil {
			return err
		}
		p, err := payment.Charge("0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1200}, acct, now)
		if err != nil {
			return err
		}
		return trips.OneBatch(t, "SavePayment", func() error { return l.SavePayment(ctx, p, acct) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`) + count(t, pool, `SELECT count(*) FROM payments`); n != 2 {
		t.Fatalf("%d rows written, want a payment and its event", n)
	}
}

func TestDeleteAfterInsertKeepsOutboxEmpty(t *testing.T) {
	pool := migrationtest.Pool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: true})
	if err := charge(t, pool, repo, "0193b6f2-8a02-7c11-b5e3-2d9a71f04c85", payment.Order{ID: orderID, CustomerID: "cust-1", Currency: "EUR", TotalCents: 1}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM payments WHERE status = 'FAILED'`); n != 1 {
		t.Fatalf("failed payments = %d, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("outbox rows = %d, want 0", n)
	}
}

// LockAccount reads the account and the order's payment in one round trip,
// locking the account, and the payment when asked; either may be absent.
func TestLockAccountReadsThePaymentInTheSameTrip(t *testing.T) {
	pool, trips := migrationtest.CountedPool(t, migrations.FS)
	repo := postgres.New(pool, postgres.Options{})
	ctx := t.Context()
	captured(t, pool, repo)
	const otherOrder = "0193b6f2-8a02-7c11-b5e3-2d9a71f04c99"
	tests := []struct {
		name                     string
		customer, order          string
		lockPayment              bool
		wantAccount, wantPayment bool
	}{
		{"account and payment", "cust-1", orderID, false, true, true},
		{"account and payment, both locked", "cust-1", orderID, true, true, true},
		{"account without payment", "cust-1", otherOrder, false, true, false},
		{"neither", "cust-2", otherOrder, true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				var acct *payment.Account
				var p *payment.Payment
				if err := trips.OneBatch(t, "LockAccount", func() (err error) {
					acct, p, err = repo.Ledger(tx).LockAccount(ctx, tc.customer, tc.order, tc.lockPayment)
					return err
				}); err != nil {
					return err
				}
				if (acct != nil) != tc.wantAccount || (p != nil) != tc.wantPayment {
					t.Fatalf("account %+v, payment %+v; want account %v, payment %v", acct, p, tc.wantAccount, tc.wantPayment)
				}
				if acct != nil && (acct.CustomerID != tc.customer || acct.BalanceCents != 3800) {
					t.Errorf("account %+v, want %s with 3800", acct, tc.customer)
				}
				if p != nil && (p.OrderID != tc.order || p.Status != payment.StatusCaptured) {
					t.Errorf("payment %+v, want the capture of %s", p, tc.order)
				}
				if got := pgtest.Locked(t, pool, `SELECT 1 FROM accounts WHERE customer_id = $1`, "cust-1"); got != tc.wantAccount {
					t.Errorf("account locked: %v, want %v", got, tc.wantAccount)
				}
				if got := pgtest.Locked(t, pool, `SELECT 1 FROM payments WHERE order_id = $1`, orderID); got != (tc.lockPayment && tc.wantPayment) {
					t.Errorf("payment locked: %v, want %v", got, tc.lockPayment && tc.wantPayment)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
