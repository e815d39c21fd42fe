// Package kafkaapi applies the order saga's events to payments. Mux routes
// them for libs/consumer, which calls each handler in a transaction that
// also holds the event's inbox claim:
//
//   - OrderCreated: charge the order total to the customer's account
//     (PaymentCaptured) or record why that is impossible (PaymentFailed).
//     An order that already has a payment is left alone, so a second
//     OrderCreated for the same order (redelivered under another event id)
//     never charges twice.
//   - OrderCancelled: refund a captured payment (PaymentRefunded); nothing
//     when the order was never charged.
//   - OrderConfirmed and anything else: ignored.
//
// Lock order: the account row first, then the payment row, in every
// handler, so concurrent events cannot deadlock on each other.
package kafkaapi
