// Package postgres stores orders in PostgreSQL: the orders, order_items,
// order_history and idempotency_keys tables, plus the outbox rows of the
// events an order records, written in the same transaction.
//
// Save writes the events an order recorded as they are (libs/outbox
// AppendTyped), each validated against its JSON schema on the way, so a
// payload bug fails the business transaction instead of reaching Kafka.
// Concurrent changes of one order are serialised by Lock (SELECT ... FOR
// UPDATE) and guarded by a version check in Save. Save reports an order
// that became final (Options.OnFinal) once its transaction commits.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

// Options configure a Repository.
type Options struct {
	// DeleteAfterInsert keeps the outbox table empty (the WAL still carries
	// every insert); tests turn it off to read the rows back.
	DeleteAfterInsert bool
	// RequireCapture refuses to write events while no logical replication
	// slot exists in the database (outbox.RequireCapture).
	RequireCapture bool
	// OutboxMetrics, when set, counts the events written, once the
	// transaction that wrote them commits (outbox.Count).
	OutboxMetrics *outbox.Metrics
	// OnFinal, when set, is called once for each order that became final
	// (CONFIRMED or CANCELLED), after the transaction that made it final
	// commits, with its status, when it was created and when it became
	// final (the times its history records). It must not block. Only
	// transactions begun by package pgtx report (the consumer's do).
	OnFinal func(status order.Status, createdAt, finalAt time.Time)
	// Tracing records Place's transaction as a "place order" span, with
	// the order's id and the events it wrote; nil records none.
	Tracing trace.TracerProvider
}

// Repository reads and writes orders.
type Repository struct {
	pool    *pgxpool.Pool
	outbox  *outbox.Writer
	onFinal func(status order.Status, createdAt, finalAt time.Time)
	tracer  trace.Tracer
}

// New returns a Repository over pool.
func New(pool *pgxpool.Pool, opts Options) *Repository {
	tp := opts.Tracing
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &Repository{pool: pool, onFinal: opts.OnFinal, tracer: tp.Tracer("github.com/outboxcdc/outboxcdc/services/order"), outbox: outbox.NewWriter(outbox.Validate(schemas.Validate),
		outbox.DeleteAfterInsert(opts.DeleteAfterInsert), outbox.RequireCapture(opts.RequireCapture),
		outbox.Count(opts.OutboxMetrics))}
}

const insertIdempotencyKey = `INSERT INTO idempotency_keys (key, request_hash, order_id)
VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING`

const selectIdempotencyKey = `SELECT request_hash, order_id FROM idempotency_keys WHERE key = $1`

// Place stores a newly placed order. With an idempotency key it claims the
// key for this order in the same transaction; when the key is already
// taken (a concurrent duplicate waits for the first request to commit), it
// returns the order the key names and created = false, or
// order.ErrIdempotencyKeyReused when that order came from a different
// request (fingerprint).
//
// The key's claim, the order and its outbox rows go to PostgreSQL as one
// pipelined batch: a taken key, the rare case, rolls that transaction back
// and the key's order is read in another.
func (r *Repository) Place(ctx context.Context, o *order.Order, key, fingerprint string) (s order.Snapshot, created bool, err error) {
	ctx, span := r.tracer.Start(ctx, "place order", trace.WithAttributes(tracing.OrderID.String(o.ID())))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	placed := o.Snapshot()
	// pgtx, so the outbox counts the order's event once it commits; the
	// BEGIN travels with the batch.
	err = pgtx.BeginFunc(ctx, pgtx.Deferred{Pool: r.pool}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if key != "" {
			b.Queue(insertIdempotencyKey, key, fingerprint, o.ID()).Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() == 0 {
					return errKeyTaken
				}
				return nil
			})
		}
		if err := r.book(tx).queueSave(ctx, b, o); err != nil {
			return err
		}
		return sendBatch(ctx, tx, b)
	})
	if errors.Is(err, errKeyTaken) {
		s, err = r.byKey(ctx, key, fingerprint)
		if err != nil {
			return order.Snapshot{}, false, fmt.Errorf("place order: %w", err)
		}
		return s, false, nil
	}
	if err != nil {
		return order.Snapshot{}, false, fmt.Errorf("place order: %w", err)
	}
	return placed, true, nil
}

// snapshot begins the read-only transactions of reads: one snapshot of
// several tables, the BEGIN sent with the first statement.
func (r *Repository) snapshot() pgtx.Deferred {
	return pgtx.Deferred{Pool: r.pool, Options: pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}}
}

// errKeyTaken ends Place's transaction when its idempotency key belongs to
// an order placed before.
var errKeyTaken = errors.New("idempotency key taken")

// byKey returns the order the idempotency key names, or
// order.ErrIdempotencyKeyReused when fingerprint is not the key's request.
func (r *Repository) byKey(ctx context.Context, key, fingerprint string) (order.Snapshot, error) {
	var s order.Snapshot
	err := pgx.BeginFunc(ctx, r.snapshot(), func(tx pgx.Tx) error {
		var hash, id string
		if err := tx.QueryRow(ctx, selectIdempotencyKey, key).Scan(&hash, &id); err != nil {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		if hash != fingerprint {
			return order.ErrIdempotencyKeyReused
		}
		var err error
		s, err = load(ctx, tx, id, false)
		return err
	})
	return s, err
}

const pruneIdempotencyKeys = `DELETE FROM idempotency_keys WHERE key = ANY (ARRAY(
  SELECT key FROM idempotency_keys WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))`

// PruneIdempotencyKeys deletes the idempotency keys created before before,
// in batches of 1000, each its own short statement that skips keys a
// request holds, and returns how many it deleted. A request retried with a
// pruned key places a new order.
func (r *Repository) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	const batch = 1000
	var total int64
	for {
		tag, err := r.pool.Exec(ctx, pruneIdempotencyKeys, before, batch)
		if err != nil {
			return total, fmt.Errorf("prune idempotency keys: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < batch {
			return total, nil
		}
	}
}

const countPending = `SELECT count(*) FROM (SELECT 1 FROM orders WHERE status = 'PENDING' LIMIT $1) p`

// Pending counts the orders still PENDING, up to limit: the saga's
// backlog, read through the status index, at a cost bounded by limit.
func (r *Repository) Pending(ctx context.Context, limit int) (int, error) {
	var n int
	if err := r.pool.QueryRow(ctx, countPending, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending orders: %w", err)
	}
	return n, nil
}

// Get returns the order with id, or order.ErrNotFound (also for an id that
// is not a UUID).
func (r *Repository) Get(ctx context.Context, id string) (order.Snapshot, error) {
	var s order.Snapshot
	err := pgx.BeginFunc(ctx, r.snapshot(), func(tx pgx.Tx) error {
		var err error
		s, err = load(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return order.Snapshot{}, fmt.Errorf("get order: %w", err)
	}
	return s, nil
}

// Book returns the domain's storage bound to tx: every call runs in tx.
func (r *Repository) Book(tx pgx.Tx) order.Book { return r.book(tx) }

func (r *Repository) book(tx pgx.Tx) book {
	return book{tx: tx, outbox: r.outbox, onFinal: r.onFinal}
}

// book implements order.Book on one transaction.
type book struct {
	tx      pgx.Tx
	outbox  *outbox.Writer
	onFinal func(status order.Status, createdAt, finalAt time.Time)
}

// Lock loads the order with id for change, locking its row until the
// transaction ends; order.ErrNotFound when there is none.
func (b book) Lock(ctx context.Context, id string) (*order.Order, error) {
	s, err := load(ctx, b.tx, id, true)
	if err != nil {
		return nil, fmt.Errorf("lock order: %w", err)
	}
	return order.Restore(s), nil
}

const insertOrder = `INSERT INTO orders
  (id, customer_id, currency, total_cents, status, payment_captured, inventory_reserved,
   cancellation_reason, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)`

const insertItems = `INSERT INTO order_items (order_id, line, sku, quantity, unit_price_cents)
SELECT $1, line, sku, quantity, unit_price_cents
FROM unnest($2::int[], $3::text[], $4::int[], $5::bigint[]) AS i(line, sku, quantity, unit_price_cents)`

const updateOrder = `UPDATE orders
SET status = $3, payment_captured = $4, inventory_reserved = $5, cancellation_reason = $6,
    updated_at = $7, version = version + 1
WHERE id = $1 AND version = $2`

const insertHistory = `INSERT INTO order_history (order_id, seq, status, event_type, event_id, occurred_at)
SELECT $1, seq, status, event_type, event_id, occurred_at
FROM unnest($2::int[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[])
  AS h(seq, status, event_type, event_id, occurred_at)`

// Save writes o's state, the history entries it added and the events it
// recorded, all in the transaction, as one pipelined batch. A new order
// (version 0) is inserted; a loaded one is updated only if nobody saved it
// since it was loaded, otherwise Save returns order.ErrConflict.
func (b book) Save(ctx context.Context, o *order.Order) error {
	batch := &pgx.Batch{}
	if err := b.queueSave(ctx, batch, o); err != nil {
		return err
	}
	return sendBatch(ctx, b.tx, batch)
}

// queueSave queues on batch what Save writes: the order's insert and its
// items, or its update (order.ErrConflict when its version moved on), the
// history entries it added and its events' outbox rows.
func (b book) queueSave(ctx context.Context, batch *pgx.Batch, o *order.Order) error {
	s := o.Snapshot()
	var reason *string
	if s.CancellationReason != "" {
		reason = &s.CancellationReason
	}
	if s.Version == 0 {
		batch.Queue(insertOrder, s.ID, s.CustomerID, s.Currency, s.TotalCents, string(s.Status),
			s.PaymentCaptured, s.InventoryReserved, reason, s.CreatedAt, s.UpdatedAt)
		n := len(s.Items)
		lines, skus, qtys, prices := make([]int32, n), make([]string, n), make([]int32, n), make([]int64, n)
		for i, it := range s.Items {
			lines[i], skus[i], qtys[i], prices[i] = int32(i+1), it.SKU, int32(it.Quantity), it.UnitPriceCents
		}
		batch.Queue(insertItems, s.ID, lines, skus, qtys, prices)
	} else {
		batch.Queue(updateOrder, s.ID, s.Version, string(s.Status), s.PaymentCaptured,
			s.InventoryReserved, reason, s.UpdatedAt).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return order.ErrConflict
			}
			return nil
		})
	}
	h := o.PullHistory()
	if len(h) > 0 {
		n := len(h)
		seqs, statuses, types, ids, ats := make([]int32, n), make([]string, n), make([]string, n), make([]pgtype.UUID, n), make([]time.Time, n)
		for i, e := range h {
			seqs[i], statuses[i], types[i], ids[i], ats[i] = int32(e.Seq), string(e.Status), e.EventType, pgtype.UUID{Bytes: e.EventID, Valid: true}, e.At
		}
		batch.Queue(insertHistory, s.ID, seqs, statuses, types, ids, ats)
		b.reportFinal(s, h)
	}
	return outbox.QueueTyped(ctx, b.tx, batch, b.outbox, s.UpdatedAt, o.PullEvents()...)
}

// sendBatch sends batch through tx and reports its first failure.
func sendBatch(ctx context.Context, tx pgx.Tx, batch *pgx.Batch) error {
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("write order: %w", err)
	}
	return nil
}

// reportFinal calls onFinal once the transaction commits when the history
// entries being written include the one that made the order final: the
// domain adds exactly one such entry per order, at the change that made it
// final, since a final order changes no more.
func (b book) reportFinal(s order.Snapshot, added []order.HistoryEntry) {
	if b.onFinal == nil {
		return
	}
	for _, e := range added {
		if e.Status.Final() {
			pgtx.AfterCommit(b.tx, func() { b.onFinal(e.Status, s.CreatedAt, e.At) })
			return
		}
	}
}

// listOrders returns the statement listing the orders f matches, with its
// arguments: one statement for each combination of filters, naming only
// the columns it filters on, so that each one's plan, made once per
// connection (package pgdb), reads the index that serves it
// (orders_customer_created_idx, orders_status_created_idx,
// orders_created_idx).
func listOrders(f order.Filter) (string, []any) {
	var where []string
	var args []any
	if f.CustomerID != "" {
		args = append(args, f.CustomerID)
		where = append(where, fmt.Sprintf("customer_id = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	q := `SELECT id FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, f.Limit)
	return q + fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args
}

// List returns the orders matching f, newest first.
func (r *Repository) List(ctx context.Context, f order.Filter) ([]order.Snapshot, error) {
	var out []order.Snapshot
	err := pgx.BeginFunc(ctx, r.snapshot(), func(tx pgx.Tx) error {
		q, args := listOrders(f)
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		out, err = loadMany(ctx, tx, ids, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return out, nil
}

const selectOrders = `SELECT id, customer_id, currency, total_cents, status, payment_captured, inventory_reserved,
  coalesce(cancellation_reason, ''), created_at, updated_at, version
FROM orders WHERE id = ANY($1::uuid[])`

const selectItems = `SELECT order_id, sku, quantity, unit_price_cents
FROM order_items WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, line`

const selectHistory = `SELECT order_id, seq, status, event_type, event_id, occurred_at
FROM order_history WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, seq`

// load reads one order with its items and history; forUpdate locks its row.
func load(ctx context.Context, tx pgx.Tx, id string, forUpdate bool) (order.Snapshot, error) {
	// Only the canonical 36-character form names an order.
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return order.Snapshot{}, order.ErrNotFound
	}
	out, err := loadMany(ctx, tx, []string{u.String()}, forUpdate)
	if err != nil {
		return order.Snapshot{}, err
	}
	if len(out) == 0 {
		return order.Snapshot{}, order.ErrNotFound
	}
	return out[0], nil
}

// loadMany reads the orders with ids, in the order of ids (missing ones,
// and ids that are no UUID, are skipped). The three queries go as one
// pipelined batch, one round trip; they run in order, so with forUpdate the
// rows are locked before their items and history are read.
func loadMany(ctx context.Context, tx pgx.Tx, ids []string, forUpdate bool) ([]order.Snapshot, error) {
	keys := pgdb.UUIDs(ids)
	if len(keys) == 0 {
		return nil, nil
	}
	q := selectOrders
	if forUpdate {
		q += " FOR UPDATE"
	}
	byID := make(map[string]*order.Snapshot, len(ids))
	var (
		orderID, status string
		it              order.Item
		h               order.HistoryEntry
	)
	b := &pgx.Batch{}
	b.Queue(q, keys).Query(func(rows pgx.Rows) error {
		var s order.Snapshot
		_, err := pgx.ForEachRow(rows, []any{&s.ID, &s.CustomerID, &s.Currency, &s.TotalCents, &status,
			&s.PaymentCaptured, &s.InventoryReserved, &s.CancellationReason, &s.CreatedAt, &s.UpdatedAt, &s.Version},
			func() error {
				s.Status = order.Status(status)
				s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
				c := s
				byID[c.ID] = &c
				return nil
			})
		if err != nil {
			return fmt.Errorf("select orders: %w", err)
		}
		return nil
	})
	b.Queue(selectItems, keys).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&orderID, &it.SKU, &it.Quantity, &it.UnitPriceCents}, func() error {
			if o := byID[orderID]; o != nil {
				o.Items = append(o.Items, it)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("select order items: %w", err)
		}
		return nil
	})
	b.Queue(selectHistory, keys).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&orderID, &h.Seq, &status, &h.EventType, &h.EventID, &h.At}, func() error {
			if o := byID[orderID]; o != nil {
				h.Status = order.Status(status)
				h.At = h.At.UTC()
				o.History = append(o.History, h)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("select order history: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}

	out := make([]order.Snapshot, 0, len(byID))
	for _, id := range ids {
		if o := byID[id]; o != nil {
			out = append(out, *o)
		}
	}
	return out, nil
}
