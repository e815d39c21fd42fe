// Package postgres stores the inventory service's stock levels and
// reservations in PostgreSQL and appends the events a reservation records
// to the outbox in the same transaction.
//
// Repository reads and sets stock through the pool (PutStock, Stock,
// ReservationOf). Repository.Stockroom binds the domain's
// inventory.Stockroom to a caller's transaction (the event consumer's,
// which also holds the inbox claim): every read, lock and write of the
// domain's use cases, and their outbox appends, commit or roll back
// together. LockStock locks stock rows in SKU order (SELECT ... ORDER BY
// sku FOR UPDATE), so concurrent orders for overlapping SKUs queue instead
// of deadlocking, and reads the order's reservation after them in the same
// round trip; CHECK (available >= 0) and CHECK (reserved >= 0) back the
// locks up. Reservations carry a version: saving one that another
// transaction saved first, or inserting a second reservation for the same
// order, is inventory.ErrConflict. SaveReservation, a use case's only
// write, sends the stock counts, the reservation and its outbox rows as
// one pipelined batch, one round trip.
//
// Times are stored as the domain built them (UTC, microseconds) and read
// back in UTC.
package postgres
