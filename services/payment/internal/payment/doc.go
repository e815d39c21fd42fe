// Package payment is the payment service's domain: customer accounts with a
// credit balance and the one payment each order gets.
//
// It decides and records; it does no I/O. Charge settles an order against
// an account (capturing the total or failing with a reason) and Refund gives
// a captured payment back. Each decision is recorded on the Payment as the
// saga event it causes (PaymentCaptured, PaymentFailed, PaymentRefunded),
// which the repository drains with PullEvents and appends to the outbox in
// the same write as the rows.
//
// The use cases the order events trigger, ChargeOrder (once per order) and
// RefundOrder, run on a Ledger: the storage of one transaction, which the
// storage adapter implements. They lock the account before the payment, so
// concurrent use cases never deadlock, and write once: Ledger.SavePayment
// takes the payment, the account whose balance it moved and the payment's
// events together, so the adapter can send them in one round trip. Times
// are kept in UTC to the microsecond, what PostgreSQL stores, so an event
// carries its row's time.
//
// Invalid input comes back as a *validation.Error (libs/validation) naming
// every invalid field. The package imports only the standard library, the
// event contracts, libs/validation and uuid (the ids of new payments).
package payment
