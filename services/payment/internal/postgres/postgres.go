package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
)

// Options configures a Repository.
type Options struct {
	// DeleteAfterInsert keeps the outbox table empty (the WAL still
	// carries every row). Tests turn it off to read the rows back.
	DeleteAfterInsert bool
	// RequireCapture refuses to write events while no logical replication
	// slot exists in the database (outbox.RequireCapture).
	RequireCapture bool
	// OutboxMetrics, when set, counts the events written, once the
	// transaction that wrote them commits (outbox.Count).
	OutboxMetrics *outbox.Metrics
}

// Repository reads and writes accounts and payments.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *outbox.Writer
}

// New returns a Repository over pool. Every event is validated against its
// JSON schema before it is appended; a payload that does not match fails
// the transaction.
func New(pool *pgxpool.Pool, opts Options) *Repository {
	return &Repository{pool: pool, outbox: outbox.NewWriter(outbox.Validate(schemas.Validate),
		outbox.DeleteAfterInsert(opts.DeleteAfterInsert), outbox.RequireCapture(opts.RequireCapture),
		outbox.Count(opts.OutboxMetrics))}
}

const putAccount = `
INSERT INTO accounts (customer_id, currency, balance_cents, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (customer_id) DO UPDATE
SET currency = EXCLUDED.currency, balance_cents = EXCLUDED.balance_cents, updated_at = EXCLUDED.updated_at
RETURNING customer_id, currency, balance_cents, created_at, updated_at`

// PutAccount creates the account or sets its balance, and returns it as
// stored.
func (r *Repository) PutAccount(ctx context.Context, a *payment.Account) (*payment.Account, error) {
	rows, err := r.pool.Query(ctx, putAccount, a.CustomerID, a.Currency, a.BalanceCents, a.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("put account: %w", err)
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanAccount)
	if err != nil {
		return nil, fmt.Errorf("put account: %w", err)
	}
	return out, nil
}

const selectAccount = `SELECT customer_id, currency, balance_cents, created_at, updated_at FROM accounts WHERE customer_id = $1`

// Account returns the account of customerID, or payment.ErrNotFound.
func (r *Repository) Account(ctx context.Context, customerID string) (*payment.Account, error) {
	return account(ctx, r.pool, selectAccount, customerID)
}

// Ledger returns the domain's storage bound to tx: every call runs in tx.
func (r *Repository) Ledger(tx pgx.Tx) payment.Ledger { return ledger{tx: tx, outbox: r.outbox} }

// ledger implements payment.Ledger on one transaction.
type ledger struct {
	tx     pgx.Tx
	outbox *outbox.Writer
}

// LockAccount locks the account of customerID for update until the
// transaction ends, then reads the payment of orderID (locked too with
// lockPayment): two statements in one pipelined batch, one round trip,
// run in that order. Either is nil when it is not stored.
func (l ledger) LockAccount(ctx context.Context, customerID, orderID string, lockPayment bool) (*payment.Account, *payment.Payment, error) {
	var (
		acct *payment.Account
		pay  *payment.Payment
	)
	b := &pgx.Batch{}
	b.Queue(selectAccount+` FOR UPDATE`, customerID).Query(func(rows pgx.Rows) error {
		as, err := pgx.CollectRows(rows, scanAccount)
		if len(as) == 1 {
			acct = as[0]
		}
		return err
	})
	q := selectPaymentByOrder
	if lockPayment {
		q += ` FOR UPDATE`
	}
	b.Queue(q, orderID).Query(func(rows pgx.Rows) error {
		ps, err := pgx.CollectRows(rows, scanPayment)
		if len(ps) == 1 {
			pay = ps[0]
		}
		return err
	})
	if err := l.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("account %s and payment of order %s: %w", customerID, orderID, err)
	}
	return acct, pay, nil
}

const lockAccounts = `SELECT customer_id FROM accounts WHERE customer_id = ANY($1) ORDER BY customer_id FOR UPDATE`

// QueueLockAccounts queues on b the statement that locks, in customer
// order, until b's transaction ends, the accounts of customers: all that a
// batch of charges and refunds will update, locked at once in one order,
// so that batches of different partitions wait for each other instead of
// deadlocking. Unknown customers lock nothing.
func (r *Repository) QueueLockAccounts(b *pgx.Batch, customers []string) {
	b.Queue(lockAccounts, customers)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func account(ctx context.Context, q querier, sql, customerID string) (*payment.Account, error) {
	rows, err := q.Query(ctx, sql, customerID)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", customerID, err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAccount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", customerID, payment.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", customerID, err)
	}
	return a, nil
}

func scanAccount(row pgx.CollectableRow) (*payment.Account, error) {
	var a payment.Account
	if err := row.Scan(&a.CustomerID, &a.Currency, &a.BalanceCents, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

const paymentColumns = `id::text, order_id::text, customer_id, amount_cents, currency, status, reason, created_at, updated_at`

const selectPaymentByOrder = `SELECT ` + paymentColumns + ` FROM payments WHERE order_id = $1`

// PaymentByOrder returns the payment of orderID, or payment.ErrNotFound.
// With lock, the row stays locked for update until the transaction ends.
func (l ledger) PaymentByOrder(ctx context.Context, orderID string, lock bool) (*payment.Payment, error) {
	sql := selectPaymentByOrder
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := l.tx.Query(ctx, sql, orderID)
	if err != nil {
		return nil, fmt.Errorf("payment of order %s: %w", orderID, err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanPayment)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("payment of order %s: %w", orderID, payment.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("payment of order %s: %w", orderID, err)
	}
	return p, nil
}

const selectPaymentsByOrder = selectPaymentByOrder + ` ORDER BY created_at, id`

// PaymentsByOrder lists the payments of orderID (none, or one: an order is
// charged at most once).
func (r *Repository) PaymentsByOrder(ctx context.Context, orderID string) ([]*payment.Payment, error) {
	rows, err := r.pool.Query(ctx, selectPaymentsByOrder, orderID)
	if err != nil {
		return nil, fmt.Errorf("payments of order %s: %w", orderID, err)
	}
	ps, err := pgx.CollectRows(rows, scanPayment)
	if err != nil {
		return nil, fmt.Errorf("payments of order %s: %w", orderID, err)
	}
	return ps, nil
}

func scanPayment(row pgx.CollectableRow) (*payment.Payment, error) {
	var p payment.Payment
	var status string
	if err := row.Scan(&p.ID, &p.OrderID, &p.CustomerID, &p.AmountCents, &p.Currency, &status, &p.Reason, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.Status = payment.Status(status)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

const updateAccount = `UPDATE accounts SET balance_cents = $2, updated_at = $3 WHERE customer_id = $1`

const upsertPayment = `
INSERT INTO payments (id, order_id, customer_id, amount_cents, currency, status, reason, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at`

// SavePayment writes, in the transaction, the balance of acct (a locked
// account; nil writes none), p (inserting it or updating its status) and
// the events p recorded as outbox rows. The statements go to PostgreSQL
// as one pipelined batch, one round trip, in that order: the account row
// is locked already, so the order of row locks stays account, then
// payment. An account that is not stored is payment.ErrNotFound; a second
// payment for the same order is payment.ErrConflict. On an error the
// caller rolls back: statements after the failing one may have run.
func (l ledger) SavePayment(ctx context.Context, p *payment.Payment, acct *payment.Account) error {
	b := &pgx.Batch{}
	if acct != nil {
		b.Queue(updateAccount, acct.CustomerID, acct.BalanceCents, acct.UpdatedAt).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("account %s: %w", acct.CustomerID, payment.ErrNotFound)
			}
			return nil
		})
	}
	b.Queue(upsertPayment, p.ID, p.OrderID, p.CustomerID, p.AmountCents, p.Currency, string(p.Status), p.Reason, p.CreatedAt, p.UpdatedAt)
	if err := outbox.QueueTyped(ctx, l.tx, b, l.outbox, p.UpdatedAt, p.PullEvents()...); err != nil {
		return fmt.Errorf("save payment of order %s: %w", p.OrderID, err)
	}
	if err := l.tx.SendBatch(ctx, b).Close(); err != nil {
		// payments.order_id is UNIQUE; a clash elsewhere (an outbox id)
		// is no second payment.
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == uniqueViolation && pgErr.TableName == "payments" {
			return fmt.Errorf("save payment of order %s: %w: %w", p.OrderID, payment.ErrConflict, err)
		}
		return fmt.Errorf("save payment of order %s: %w", p.OrderID, err)
	}
	return nil
}

const uniqueViolation = "23505"
