// Package postgres stores the payment service's accounts and payments in
// PostgreSQL and appends the events a payment records to the outbox in the
// same transaction.
//
// Repository.Ledger(tx) is the domain's payment.Ledger on the caller's
// transaction (the event consumer's, which also holds the inbox claim);
// Repository's own methods use the pool. LockAccount takes the account row
// lock (SELECT ... FOR UPDATE) that serialises every balance change of one
// customer, and reads the order's payment after it in the same round trip;
// payments.order_id is UNIQUE, and a violation comes back as
// payment.ErrConflict. SavePayment, a use case's only write, sends the
// account's balance, the payment and its outbox rows as one pipelined
// batch, one round trip.
package postgres
