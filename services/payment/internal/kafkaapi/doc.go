// Package kafkaapi is the payment service's Kafka adapter: it applies the
// order saga's events to payments by calling the domain's use cases
// (payment.ChargeOrder, payment.RefundOrder) on the Ledger of the
// transaction that libs/consumer opens for each event, the one that also
// holds the event's inbox claim. Mux routes:
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
// An event whose order breaks a rule is dead-lettered at once; storage
// errors are retried by the runtime.
package kafkaapi
