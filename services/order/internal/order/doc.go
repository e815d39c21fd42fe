// Package order is the order service's domain: the Order aggregate, the
// rules for placing an order, and how the order saga moves it from PENDING
// to CONFIRMED or CANCELLED.
//
// # Contract
//
// Place validates a NewOrder and returns a PENDING order that has recorded
// an OrderCreated event. The saga methods (ApplyPaymentCaptured,
// ApplyInventoryReserved, ApplyPaymentFailed, ApplyInventoryRejected) are
// idempotent: a fact the order already knows, or any fact arriving after the
// order is CONFIRMED or CANCELLED, changes nothing and says so through its
// Outcome. When both PaymentCaptured and InventoryReserved are known, in
// either order, the order becomes CONFIRMED and records OrderConfirmed; the
// first failure makes it CANCELLED and records OrderCancelled with the
// reason.
//
// The aggregate keeps what it recorded until the repository drains it with
// PullEvents (the schemas' typed events, which the outbox writes as they
// are) and PullHistory (history entries not yet stored), inside the
// transaction that saves the order. Event ids are UUIDs from the caller
// to the outbox row: the OrderCreated Place records carries the id its
// first history entry names.
//
// React is the use case every consumed payment or inventory event runs. It
// works on a Book: the storage of one transaction, which the storage
// adapter implements. It locks the order, lets one Apply method decide, and
// saves the order only when that method applied the event. An unknown order
// is ErrNotFound, and nothing is saved. Times are kept in UTC to the
// microsecond, which is what PostgreSQL stores, so an event carries its
// row's time.
//
// Place is where a new order is validated, once: an invalid one is a
// *validation.Error (libs/validation) listing every invalid field, with
// the wire names of the HTTP API ("customerId", "items[0].quantity").
//
// # Limits
//
// The package imports only the standard library, the schemas module,
// libs/validation and github.com/google/uuid: no database, HTTP or broker
// code. Identifiers and clocks are passed in, so the rules are
// deterministic.
package order
