// Package audit checks, after the fact, that the order saga kept its
// promises: it reads the three databases (orders, payments, inventory) and
// every record of the routed topics, and reports each broken invariant as a
// Violation.
//
//	rep, err := audit.Run(ctx, audit.Config{
//		OrdersDB: ordersDSN, PaymentsDB: paymentsDSN, InventoryDB: inventoryDSN,
//		Brokers: []string{"127.0.0.1:9092"}, Grace: audit.DefaultGrace, Seed: seed,
//	})
//	if err != nil { ... }         // a database or the broker could not be read
//	rep.Write(os.Stdout)          // counts and violations as a table (WriteJSON for JSON)
//	if !rep.OK() { ... }          // rep.Violations() lists them, one line each
//
// # What is read
//
// Each database is read in one REPEATABLE READ, read-only transaction, so
// each is a consistent snapshot: orders first, then payments, then inventory
// (the order in which a saga writes them). Then the end offsets of
// outbox.event.order, outbox.event.payment and outbox.event.inventory are
// listed and every record from the log start to those offsets is read, all
// partitions, read_uncommitted. The audit writes nothing, to the databases
// or the broker, and creates no topic or consumer group.
//
// A record's event id is its "id" header and its type the "eventType"
// header (what the connectors produce and libs/consumer reads); its order is
// the record key (the aggregate id), or the payload's orderId when the key
// is empty. A record without a UUID id or a type is counted as malformed
// and otherwise ignored. The same id seen more than once is a duplicate:
// delivery is at least once, so duplicates are counted, never a violation.
//
// # Time
//
// The audit takes its clock reading (Report.AsOf) before the first read.
// A row or record younger than AsOf - Grace may still be on its way (the
// connector's lag, a consumer's retry), so the checks that wait for the
// next hop skip it and count it as deferred instead. Grace 0 means the
// caller knows the system is quiet and every row is expected settled.
//
// # Checks
//
// Each violation has a Kind. The rules, derived from the services' code:
//
//   - stuck-order: an order still PENDING created before AsOf - Grace.
//   - order-state: an order whose total_cents is not the sum of its lines,
//     a CONFIRMED order without both payment_captured and
//     inventory_reserved, or a history not starting with one OrderCreated.
//   - missing-payment, missing-reservation: a settled order that is not
//     CONFIRMED has no payment row, or no reservation rows. The payment and
//     inventory services answer every OrderCreated (a charge that cannot be
//     paid is stored FAILED, stock that is short is stored REJECTED).
//   - payment-mismatch: a payment whose amount, customer or currency is not
//     its order's (payments are created from OrderCreated's total).
//   - confirmed-not-captured: a CONFIRMED order whose payment is missing or
//     not CAPTURED (a confirmed order is never refunded).
//   - cancelled-still-charged: a CANCELLED order, settled, whose payment is
//     still CAPTURED (OrderCancelled makes the payment service refund it).
//   - reservation-mismatch: reservation rows whose SKUs and quantities are
//     not the order's lines summed per SKU, or rows of one order that
//     disagree on status or version.
//   - confirmed-not-committed: a CONFIRMED order whose reservation is
//     missing, REJECTED or RELEASED, or still RESERVED once settled
//     (OrderConfirmed makes inventory mark it COMMITTED).
//   - cancelled-still-reserved: a CANCELLED order whose reservation is
//     COMMITTED, or still RESERVED once settled (OrderCancelled releases).
//   - orphan-payment, orphan-reservation: a settled row for an order the
//     orders database does not have.
//   - balance (with a seed's accounts): for every seeded customer,
//     balance_cents = seeded - the sum of amount_cents of its payments in
//     status CAPTURED. A charge debits the total and stores CAPTURED; a
//     refund credits it back and moves the payment to REFUNDED, so a
//     REFUNDED payment nets to zero; a FAILED payment debited nothing. A
//     seeded customer without an account is a violation too. Accounts the
//     seed does not name are counted, not checked.
//   - negative-balance: balance_cents < 0 (always checked).
//   - stock: for every SKU, reserved = the sum of quantity of its
//     reservation rows in status RESERVED or COMMITTED (a reservation moves
//     units from available to reserved; a commit keeps them in reserved,
//     sold; a release moves them back; a rejection moves nothing); and, for
//     a seed's SKUs, available + reserved = seeded. Reserved units of a SKU
//     without a stock row, or a seeded SKU without one, are violations.
//   - negative-stock: available < 0 or reserved < 0 (always checked).
//   - lost-event: a committed state whose event is on no topic: every order
//     needs its OrderCreated (the id its first history entry names), a
//     CONFIRMED one OrderConfirmed, a CANCELLED one OrderCancelled; a
//     CAPTURED payment PaymentCaptured, a FAILED one PaymentFailed, a
//     REFUNDED one PaymentCaptured and PaymentRefunded; a RESERVED or
//     COMMITTED reservation InventoryReserved (a commit emits nothing), a
//     REJECTED one InventoryRejected, a RELEASED one InventoryReserved and
//     InventoryReleased. The events an order's history names as causes
//     must be on their topics too. Each is judged against the time of the
//     change that emitted it (created_at or updated_at) and Grace.
//   - phantom-event: a settled record whose event implies a state its
//     database does not hold (OrderConfirmed for an order that is not
//     CONFIRMED, PaymentRefunded for a payment that is not REFUNDED, any
//     event of an order nobody stored, ...): an event published by a
//     transaction that did not commit.
//   - double-effect: one order with more than one distinct event id of one
//     type (two charges, two refunds, two reservations, two confirmations:
//     duplicates of one id are redelivery, different ids are two effects),
//     or a history naming more than one cause of one type.
//   - conflicting-events: one order with both PaymentCaptured and
//     PaymentFailed, InventoryReserved and InventoryRejected, or
//     OrderConfirmed and OrderCancelled.
//   - inbox-without-effect: a consumer group's inbox says it processed an
//     event (outcome processed) whose effect is absent from the same
//     database: a processed OrderCreated without the payment or the
//     reservation, a processed OrderCancelled with the payment still
//     CAPTURED or stock still held, a processed OrderConfirmed with the
//     reservation still RESERVED; the order service's processed
//     PaymentCaptured, PaymentFailed, InventoryReserved or InventoryRejected
//     of an order it does not have, or of an order still PENDING that does
//     not show it. The inbox row and the effect commit in
//     one transaction, so these need no grace. The event's order is found
//     through its record on the topic; inbox rows whose event is on no
//     topic are counted as unmapped.
//
// Duplicate effects that the schema already makes impossible (two payments
// for one order, two reservation rows for one order and SKU, one history
// entry twice) are not checked again.
//
// # Limits
//
// The topics must still hold every record ever produced (the development
// stacks never delete any): with retention deleting old segments, events
// of old orders show up as lost. Cross-database snapshots are not taken
// at one instant; Grace covers what moved between them. The seed must be
// the balances and stock levels set before the first order (PUT
// /accounts and PUT /stock set them outright), or the equations do not
// hold. Every row and record is held in memory.
package audit
