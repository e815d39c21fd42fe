// Package postgres stores the inventory service's stock levels and
// reservations in PostgreSQL and appends the events a reservation records
// to the outbox in the same transaction.
//
// Methods taking a pgx.Tx run inside the caller's transaction (the event
// consumer's, which also holds the inbox claim); the others use the pool.
// LockStock locks stock rows in SKU order (SELECT ... ORDER BY sku FOR
// UPDATE), so concurrent orders for overlapping SKUs queue instead of
// deadlocking; CHECK (available >= 0) and CHECK (reserved >= 0) back the
// locks up. Reservations carry a version: saving one that another
// transaction saved first, or inserting a second reservation for the same
// order, is inventory.ErrConflict.
package postgres
