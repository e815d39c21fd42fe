package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

// The scratch tables copy the order service's (constraints, indexes and
// foreign keys included) in a schema of their own: their outbox is in no
// publication, so nothing written here reaches a topic.
const scratchTables = `
CREATE SCHEMA %[1]s;
CREATE TABLE %[1]s.orders (LIKE public.orders INCLUDING ALL);
CREATE TABLE %[1]s.order_items (LIKE public.order_items INCLUDING ALL,
  FOREIGN KEY (order_id) REFERENCES %[1]s.orders (id) ON DELETE CASCADE);
CREATE TABLE %[1]s.order_history (LIKE public.order_history INCLUDING ALL,
  FOREIGN KEY (order_id) REFERENCES %[1]s.orders (id) ON DELETE CASCADE);
CREATE TABLE %[1]s.idempotency_keys (LIKE public.idempotency_keys INCLUDING ALL,
  FOREIGN KEY (order_id) REFERENCES %[1]s.orders (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE %[1]s.outbox (LIKE public.outbox INCLUDING ALL);`

// The statements of POST /orders, in its order (services/order/internal/
// postgres and libs/outbox).
const (
	dbInsertKey = `INSERT INTO %s.idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING`
	dbInsertOrder = `INSERT INTO %s.orders
  (id, customer_id, currency, total_cents, status, payment_captured, inventory_reserved,
   cancellation_reason, created_at, updated_at, version)
VALUES ($1, $2, 'EUR', $3, 'PENDING', false, false, NULL, $4, $4, 1)`
	dbInsertItems = `INSERT INTO %s.order_items (order_id, line, sku, quantity, unit_price_cents)
SELECT $1, line, sku, quantity, unit_price_cents
FROM unnest($2::int[], $3::text[], $4::int[], $5::bigint[]) AS i(line, sku, quantity, unit_price_cents)`
	dbInsertHistory = `INSERT INTO %s.order_history (order_id, seq, status, event_type, event_id, occurred_at)
SELECT $1, seq, status, event_type, event_id, occurred_at
FROM unnest($2::int[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[])
  AS h(seq, status, event_type, event_id, occurred_at)`
	dbInsertOutbox = `INSERT INTO %s.outbox (id, aggregatetype, aggregateid, type, payload, occurred_at, traceparent)
SELECT id, aggregatetype, aggregateid, type, payload::jsonb, occurred_at, traceparent
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamp[], $7::text[])
  AS e(id, aggregatetype, aggregateid, type, payload, occurred_at, traceparent)
WHERE EXISTS (
  SELECT 1 FROM pg_replication_slots
  WHERE database = current_database() AND slot_type = 'logical' AND wal_status IS DISTINCT FROM 'lost')`
	dbDeleteOutbox = `DELETE FROM %s.outbox WHERE id = ANY($1)`
)

// dbLoop runs the transaction of POST /orders directly on the orders
// database, on scratch tables, from a fixed number of connections, in
// slices: the database's own rate is the transactions of all slices over
// their time.
type dbLoop struct {
	pool    *pgxpool.Pool
	schema  string
	clients int
	payload string
	done    int64         // transactions of all slices
	elapsed time.Duration // time of all slices
}

// openDBLoop creates the scratch tables and opens clients connections with
// the services' settings (package pgdb). dsn must allow creating a schema
// (the postgres role). close drops the tables.
func openDBLoop(ctx context.Context, dsn string, clients int) (*dbLoop, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	l := &dbLoop{schema: "benchsaga_" + hex.EncodeToString(b), clients: clients,
		payload: `{"orderId":"00000000-0000-0000-0000-000000000000","customerId":"bench","currency":"EUR","totalCents":4200,` +
			`"items":[{"sku":"SKU-1","quantity":2,"unitPriceCents":1500},{"sku":"SKU-2","quantity":1,"unitPriceCents":1200}],"createdAt":"2026-01-01T00:00:00Z"}`}
	var err error
	if l.pool, err = pgdb.OpenSized(ctx, dsn, int32(clients), 10*time.Second, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	if _, err := l.pool.Exec(ctx, fmt.Sprintf(scratchTables, l.schema)); err != nil {
		l.pool.Close()
		return nil, fmt.Errorf("scratch tables: %w", err)
	}
	return l, nil
}

// close drops the scratch tables and closes the connections; later calls
// do nothing.
func (l *dbLoop) close() {
	if l.pool == nil {
		return
	}
	defer func() { l.pool = nil }()
	if _, err := l.pool.Exec(context.Background(), "DROP SCHEMA "+l.schema+" CASCADE"); err != nil {
		fmt.Printf("dropping the scratch schema %s: %v\n", l.schema, err)
	}
	l.pool.Close()
}

// rate is the transactions per second of all slices so far.
func (l *dbLoop) rate() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.done) / l.elapsed.Seconds()
}

// run runs one slice: every connection runs the transaction in a loop
// for d.
func (l *dbLoop) run(ctx context.Context, d time.Duration) error {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				err := pgx.BeginFunc(runCtx, pgtx.Deferred{Pool: l.pool}, func(tx pgx.Tx) error {
					return placeLike(runCtx, tx, l.schema, l.payload)
				})
				if err != nil {
					if runCtx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("the database's own loop: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.done += done.Load()
	l.elapsed += time.Since(start)
	return nil
}

// placeLike runs the statements POST /orders runs for a two-line order,
// as the order service sends them: one pipelined batch with the BEGIN, the
// outbox insert guarded by the capture check.
func placeLike(ctx context.Context, tx pgx.Tx, schema, payload string) error {
	id, eventID, now := uuid.New(), uuid.New(), time.Now().UTC()
	ids := []pgtype.UUID{{Bytes: eventID, Valid: true}}
	b := &pgx.Batch{}
	b.Queue(fmt.Sprintf(dbInsertKey, schema), "bench-"+id.String(), hex.EncodeToString(id[:])+hex.EncodeToString(eventID[:]), id)
	b.Queue(fmt.Sprintf(dbInsertOrder, schema), id, "bench", int64(4200), now)
	b.Queue(fmt.Sprintf(dbInsertItems, schema), id, []int32{1, 2}, []string{"SKU-1", "SKU-2"}, []int32{2, 1}, []int64{1500, 1200})
	b.Queue(fmt.Sprintf(dbInsertHistory, schema), id, []int32{1}, []string{"PENDING"}, []string{"OrderCreated"}, ids, []time.Time{now})
	b.Queue(fmt.Sprintf(dbInsertOutbox, schema), ids, []string{"order"}, []string{id.String()},
		[]string{"OrderCreated"}, []string{payload}, []time.Time{now}, []*string{nil}).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return errors.New("no logical replication slot in the orders database")
		}
		return nil
	})
	b.Queue(fmt.Sprintf(dbDeleteOutbox, schema), ids)
	return tx.SendBatch(ctx, b).Close()
}
