// Package payment is the payment service's domain: customer accounts with a
// credit balance and the one payment each order gets.
//
// It decides and records; it does no I/O. Charge settles an order against
// an account (capturing the total or failing with a reason) and Refund gives
// a captured payment back. Each decision is recorded on the Payment as the
// saga event it causes (PaymentCaptured, PaymentFailed, PaymentRefunded),
// which the repository drains with PullEvents and appends to the outbox in
// the same transaction as the rows.
//
// The package imports only the standard library and the event contracts.
package payment
