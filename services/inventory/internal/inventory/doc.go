// Package inventory is the inventory service's domain: stock levels per SKU
// and the reservations orders hold against them.
//
// It decides and records; it does no I/O. Reserve holds stock for every
// line of an order or for none (all or nothing); Release puts held stock
// back; Commit marks held stock as sold. Stock always satisfies
// available >= 0 and reserved >= 0, and a reservation or release moves
// units between the two, so available + reserved stays what was put in.
// Each decision that other services must hear about is recorded on the
// Reservation as an event (InventoryReserved, InventoryRejected,
// InventoryReleased), which the repository drains with PullEvents and
// appends to the outbox in the same transaction.
//
// Invalid input comes back as a *validation.Error (libs/validation) naming
// every invalid field. The package imports only the standard library, the
// event contracts and libs/validation.
package inventory
