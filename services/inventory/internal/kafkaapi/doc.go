// Package kafkaapi applies the order saga's events to stock. Mux routes them
// for libs/consumer, which decodes each payload and calls its handler in a
// transaction that also holds the event's inbox claim; the handler runs the
// domain's use case on the Stockroom bound to that transaction:
//
//   - OrderCreated: inventory.ReserveOrder, once per order: every line
//     reserved (InventoryReserved) or none, naming the short SKUs
//     (InventoryRejected).
//   - OrderCancelled: inventory.ReleaseOrder (InventoryReleased when the
//     order held stock).
//   - OrderConfirmed: inventory.CommitOrder; stock counts stay. A confirmed
//     order without a reservation is logged as a warning.
//   - Anything else: ignored.
//
// Errors: a payload that does not decode, or that the domain rejects as
// invalid (*validation.Error), is permanent and dead-lettered; every other
// error (storage, a lost race reported as inventory.ErrConflict) is
// retried, and the retry sees the winner.
package kafkaapi
