// Package kafkaapi applies the order saga's events to stock. Mux routes them
// for libs/consumer, which calls each handler in a transaction that also
// holds the event's inbox claim:
//
//   - OrderCreated: reserve every line, all or nothing (InventoryReserved),
//     or reject naming the short SKUs (InventoryRejected). An order that
//     already has a reservation is left alone, so a second OrderCreated
//     for the same order (redelivered under another event id) never
//     reserves twice.
//   - OrderCancelled: release what the order holds (InventoryReleased);
//     nothing when it holds nothing.
//   - OrderConfirmed: mark the reservation COMMITTED; stock counts stay.
//   - Anything else: ignored.
//
// Lock order: stock rows first, sorted by SKU, then reservation rows, in
// every handler, so concurrent events cannot deadlock on each other.
package kafkaapi
