package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
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

// Repository reads and writes stock and reservations.
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

const stockColumns = `sku, available, reserved, created_at, updated_at`

const putStock = `
INSERT INTO stock (sku, available, reserved, created_at, updated_at)
VALUES ($1, $2, 0, $3, $3)
ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, updated_at = EXCLUDED.updated_at
RETURNING ` + stockColumns

// PutStock creates the SKU or sets its available count (its reserved count
// is kept), and returns it as stored.
func (r *Repository) PutStock(ctx context.Context, s *inventory.Stock) (*inventory.Stock, error) {
	rows, err := r.pool.Query(ctx, putStock, s.SKU, s.Available, s.UpdatedAt)
	if err != nil {
		return nil, fmt.Errorf("put stock %s: %w", s.SKU, err)
	}
	out, err := pgx.CollectExactlyOneRow(rows, scanStock)
	if err != nil {
		return nil, fmt.Errorf("put stock %s: %w", s.SKU, err)
	}
	return out, nil
}

const selectStock = `SELECT ` + stockColumns + ` FROM stock WHERE sku = $1`

// Stock returns the stock of sku, or inventory.ErrNotFound.
func (r *Repository) Stock(ctx context.Context, sku string) (*inventory.Stock, error) {
	rows, err := r.pool.Query(ctx, selectStock, sku)
	if err != nil {
		return nil, fmt.Errorf("stock %s: %w", sku, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanStock)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("stock %s: %w", sku, inventory.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stock %s: %w", sku, err)
	}
	return s, nil
}

// Stockroom returns the domain's storage bound to tx: its reads, locks and
// writes, and the outbox appends of the reservations it saves, all run in
// tx.
func (r *Repository) Stockroom(tx pgx.Tx) inventory.Stockroom {
	return stockroom{tx: tx, outbox: r.outbox}
}

// stockroom implements inventory.Stockroom on one transaction.
type stockroom struct {
	tx     pgx.Tx
	outbox *outbox.Writer
}

// The stable order is what keeps two transactions locking overlapping SKU
// sets from deadlocking.
const lockStock = `SELECT ` + stockColumns + ` FROM stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`

// LockStock locks the stock rows of skus in SKU order until the transaction
// ends and returns them by SKU (unknown SKUs are absent from the map), then
// reads the reservation of orderID, nil when there is none, its rows
// locked too with lockReservation: two statements in one pipelined batch,
// one round trip, run in that order.
func (s stockroom) LockStock(ctx context.Context, skus []string, orderID string, lockReservation bool) (map[string]*inventory.Stock, *inventory.Reservation, error) {
	stock := make(map[string]*inventory.Stock, len(skus))
	var res *inventory.Reservation
	b := &pgx.Batch{}
	b.Queue(lockStock, skus).Query(func(rows pgx.Rows) error {
		list, err := pgx.CollectRows(rows, scanStock)
		for _, st := range list {
			stock[st.SKU] = st
		}
		if err != nil {
			return fmt.Errorf("lock stock: %w", err)
		}
		return nil
	})
	q := selectReservation
	if lockReservation {
		q += ` FOR UPDATE`
	}
	b.Queue(q, orderID).Query(func(rows pgx.Rows) (err error) {
		res, err = scanReservation(rows)
		return err
	})
	if err := s.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("stock and reservation of order %s: %w", orderID, err)
	}
	return stock, res, nil
}

func scanStock(row pgx.CollectableRow) (*inventory.Stock, error) {
	var s inventory.Stock
	if err := row.Scan(&s.SKU, &s.Available, &s.Reserved, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}

// One array of keys, so the rows are found through the primary key (an OR
// of the two sets would read every stock row and its old versions).
const lockStockOf = `SELECT sku FROM stock
WHERE sku = ANY($1::text[] || ARRAY(SELECT sku FROM reservations WHERE order_id = ANY($2::uuid[])))
ORDER BY sku FOR UPDATE`

// QueueLockStockOf queues on b the statement that locks, in SKU order,
// until b's transaction ends, the stock rows of skus and those the
// reservations of orders hold: all that a batch of reservations (skus) and
// releases (orders) will update, locked at once in the one order every
// transaction here locks stock in, so that batches of different partitions
// wait for each other instead of deadlocking. Unknown SKUs and orders
// without a reservation lock nothing, as do order ids that are no UUID.
func (r *Repository) QueueLockStockOf(b *pgx.Batch, skus, orders []string) {
	b.Queue(lockStockOf, skus, pgdb.UUIDs(orders))
}

const selectReservation = `
SELECT order_id::text, sku, quantity, status, version, created_at, updated_at
FROM reservations WHERE order_id = $1 ORDER BY sku`

// Reservation returns the reservation of orderID, or inventory.ErrNotFound.
// With lock, its rows stay locked for update until the transaction ends.
func (s stockroom) Reservation(ctx context.Context, orderID string, lock bool) (*inventory.Reservation, error) {
	sql := selectReservation
	if lock {
		sql += ` FOR UPDATE`
	}
	return reservation(ctx, s.tx, sql, orderID)
}

// ReservationOf returns the reservation of orderID, or
// inventory.ErrNotFound, reading outside any transaction.
func (r *Repository) ReservationOf(ctx context.Context, orderID string) (*inventory.Reservation, error) {
	return reservation(ctx, r.pool, selectReservation, orderID)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func reservation(ctx context.Context, q querier, sql, orderID string) (*inventory.Reservation, error) {
	rows, err := q.Query(ctx, sql, orderID)
	if err != nil {
		return nil, fmt.Errorf("reservation of order %s: %w", orderID, err)
	}
	res, err := scanReservation(rows)
	if err != nil {
		return nil, fmt.Errorf("reservation of order %s: %w", orderID, err)
	}
	if res == nil {
		return nil, fmt.Errorf("reservation of order %s: %w", orderID, inventory.ErrNotFound)
	}
	return res, nil
}

// scanReservation reads a reservation from its rows (selectReservation's
// columns), nil when there are none.
func scanReservation(rows pgx.Rows) (*inventory.Reservation, error) {
	var res *inventory.Reservation
	var orderID, status string
	var line inventory.Line
	var version int
	var created, updated time.Time
	_, err := pgx.ForEachRow(rows, []any{&orderID, &line.SKU, &line.Quantity, &status, &version, &created, &updated}, func() error {
		if res == nil {
			res = &inventory.Reservation{OrderID: orderID, Status: inventory.Status(status), Version: version, CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
		} else if inventory.Status(status) != res.Status || version != res.Version {
			return fmt.Errorf("rows disagree on status or version: %w", inventory.ErrConflict)
		}
		res.Lines = append(res.Lines, line)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

const updateStock = `
UPDATE stock SET available = u.available, reserved = u.reserved, updated_at = u.updated_at
FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[]) AS u(sku, available, reserved, updated_at)
WHERE stock.sku = u.sku`

const insertReservation = `
INSERT INTO reservations (order_id, sku, quantity, status, version, created_at, updated_at)
SELECT $1, sku, quantity, $4, 1, $5, $5 FROM unnest($2::text[], $3::int[]) AS l(sku, quantity)`

const updateReservation = `
UPDATE reservations SET status = $2, version = version + 1, updated_at = $4
WHERE order_id = $1 AND version = $3`

// SaveReservation writes, in the transaction, the counts of stock (rows
// the transaction locked), then res (a new one, Version 0, inserted;
// otherwise its status updated if its version is still the stored one),
// then the events res recorded as outbox rows, and bumps res.Version.
// The statements go to PostgreSQL as one pipelined batch, one round trip,
// in that order: the stock rows are locked already, so the order of row
// locks stays stock, then reservation. A stock row that is not stored is
// inventory.ErrNotFound; a second reservation for the same order, or an
// update that lost to a concurrent one, is inventory.ErrConflict. On an
// error the caller rolls back: statements after the failing one may have
// run.
func (s stockroom) SaveReservation(ctx context.Context, res *inventory.Reservation, stock ...*inventory.Stock) error {
	b := &pgx.Batch{}
	if len(stock) > 0 {
		n := len(stock)
		skus, avail, reserved, at := make([]string, n), make([]int, n), make([]int, n), make([]time.Time, n)
		for i, st := range stock {
			skus[i], avail[i], reserved[i], at[i] = st.SKU, st.Available, st.Reserved, st.UpdatedAt
		}
		b.Queue(updateStock, skus, avail, reserved, at).Exec(func(tag pgconn.CommandTag) error {
			if int(tag.RowsAffected()) != n {
				return fmt.Errorf("stock: %d of %d rows updated: %w", tag.RowsAffected(), n, inventory.ErrNotFound)
			}
			return nil
		})
	}
	if res.Version == 0 {
		skus, qty := make([]string, len(res.Lines)), make([]int, len(res.Lines))
		for i, l := range res.Lines {
			skus[i], qty[i] = l.SKU, l.Quantity
		}
		b.Queue(insertReservation, res.OrderID, skus, qty, string(res.Status), res.CreatedAt)
	} else {
		version, lines := res.Version, len(res.Lines)
		b.Queue(updateReservation, res.OrderID, string(res.Status), version, res.UpdatedAt).Exec(func(tag pgconn.CommandTag) error {
			if int(tag.RowsAffected()) != lines {
				return fmt.Errorf("update at version %d: %w", version, inventory.ErrConflict)
			}
			return nil
		})
	}
	if err := outbox.QueueTyped(ctx, s.tx, b, s.outbox, res.UpdatedAt, res.PullEvents()...); err != nil {
		return fmt.Errorf("save reservation of order %s: %w", res.OrderID, err)
	}
	if err := s.tx.SendBatch(ctx, b).Close(); err != nil {
		// The reservations' key is (order_id, sku); a clash elsewhere (an
		// outbox id) is no second reservation.
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == uniqueViolation && pgErr.TableName == "reservations" {
			return fmt.Errorf("save reservation of order %s: %w: %w", res.OrderID, inventory.ErrConflict, err)
		}
		return fmt.Errorf("save reservation of order %s: %w", res.OrderID, err)
	}
	res.Version++
	return nil
}

const uniqueViolation = "23505"
