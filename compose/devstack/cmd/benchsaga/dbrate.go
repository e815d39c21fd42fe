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

// dbRate runs the transaction of POST /orders directly on the orders
// database with clients connections for d, and returns transactions per
// second. dsn must allow creating a schema (the postgres role).
func dbRate(ctx context.Context, dsn string, clients int, d time.Duration) (float64, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	schema := "benchsaga_" + hex.EncodeToString(b)
	// Connections with the services' settings (package pgdb).
	pool, err := pgdb.OpenSized(ctx, dsn, int32(clients), 10*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, fmt.Sprintf(scratchTables, schema)); err != nil {
		return 0, fmt.Errorf("scratch tables: %w", err)
	}
	defer func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Printf("dropping the scratch schema %s: %v\n", schema, err)
		}
	}()
	payload := `{"orderId":"00000000-0000-0000-0000-000000000000","customerId":"bench","currency":"EUR","totalCents":4200,` +
		`"items":[{"sku":"SKU-1","quantity":2,"unitPriceCents":1500},{"sku":"SKU-2","quantity":1,"unitPriceCents":1200}],"createdAt":"2026-01-01T00:00:00Z"}`
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				err := pgx.BeginFunc(runCtx, pgtx.Deferred{Pool: pool}, func(tx pgx.Tx) error {
					return placeLike(runCtx, tx, schema, payload)
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
		return 0, fmt.Errorf("the database's own loop: %w", firstErr)
	}
	return float64(done.Load()) / d.Seconds(), nil
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
