// Package inventory is the inventory service's domain: stock levels per SKU,
// the reservations orders hold against them, and the use cases of the order
// saga that read and write both.
//
// Reserve holds stock for every line of an order or for none (all or
// nothing); Release puts held stock back; Commit marks held stock as sold.
// Stock always satisfies available >= 0 and reserved >= 0, and a
// reservation or release moves units between the two, so available +
// reserved stays what was put in. Each decision that other services must
// hear about is recorded on the Reservation as an event (InventoryReserved,
// InventoryRejected, InventoryReleased), which the storage drains with
// PullEvents and appends to the outbox in the same transaction.
//
// The use cases ReserveOrder, ReleaseOrder and CommitOrder apply one order
// event through a Stockroom, the storage of one transaction, which the
// storage adapter implements:
//
//   - ReserveOrder decides an order once: an order that already has a
//     reservation (reserved or rejected) keeps it, so a second OrderCreated
//     for the same order never reserves twice, and stock added later does
//     not turn a rejection into a reservation.
//   - ReleaseOrder releases what the order holds; nothing when it holds
//     nothing (rejected, already released, unknown order).
//   - CommitOrder marks the reservation COMMITTED; stock counts stay.
//
// Each locks stock rows first, sorted by SKU, then reservation rows, so
// concurrent use cases cannot deadlock on each other, and writes once:
// Stockroom.SaveReservation takes the reservation, the stock it moved and
// its events together, so the adapter can send them in one round trip.
//
// Times are normalised here, once: whatever clock reading a caller passes
// is kept in UTC at microsecond precision, what PostgreSQL stores, so an
// emitted event equals what is stored.
//
// Invalid input comes back as a *validation.Error (libs/validation) naming
// every invalid field. The package imports only the standard library, the
// event contracts and libs/validation; it reaches storage only through
// Stockroom.
package inventory
