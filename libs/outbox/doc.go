// Package outbox appends events to a transactional outbox table in the shape
// Debezium's Outbox Event Router reads.
//
// Two ways in, one row writer:
//
//   - Writer.Append (and the package-level Append) writes Event rows as
//     given.
//   - AppendTyped writes typed events (Typed: the values of schemas/events)
//     through the same writer: each marshals to its payload and names its
//     own routing columns, so a domain records its events and the
//     repository hands them over as they are.
//   - Writer.Queue and QueueTyped queue the same statements on the
//     caller's pgx.Batch, so a repository sends its own writes and the
//     outbox rows to PostgreSQL as one pipelined batch, one round trip.
//
// A service's repository writes what its domain recorded:
//
//	w := outbox.NewWriter(outbox.Validate(schemas.Validate), outbox.DeleteAfterInsert(true))
//	err := outbox.AppendTyped(ctx, tx, w, p.UpdatedAt, p.PullEvents()...)
//
// # Guarantee
//
// Append (and Queue, once its batch is sent) writes through the caller's
// transaction and nothing else: the
// event exists if and only if that transaction commits. There is no
// after-commit publish step to lose on a crash, and no poller: a change data
// capture connector (Debezium, or the project's walrelay) reads the inserted
// rows from the write-ahead log and routes each one to Kafka. Rows are
// inserted in the order given, in one statement.
//
// # Checks
//
// Before anything is written, every row must name its aggregate type,
// aggregate id and type and carry a JSON payload, and pass the writer's
// Validate hook, if any: with schemas.Validate there, each event is checked
// against its JSON Schema exactly once on its way out, and a bad one fails
// the caller's transaction instead of reaching Kafka (ErrInvalidEvent). A
// typed event that does not marshal fails AppendTyped the same way.
//
// Zero ids become new UUIDv7s and zero times now; a typed event keeps the id
// its EventID method returns.
//
// # Table
//
// Schema holds the DDL services copy into their own migrations. Columns:
//
//	id            uuid primary key   event id (UUIDv7); becomes the Kafka "id" header
//	aggregatetype varchar            routes the topic: outbox.event.<aggregatetype>
//	aggregateid   varchar            the Kafka record key
//	type          varchar            event type; placed in the "eventType" header
//	payload       jsonb              the record value
//	occurred_at   timestamp          UTC, without time zone; the record timestamp
//	traceparent   varchar            W3C trace context of the writer, NULL when none
//
// occurred_at is deliberately "timestamp without time zone": Debezium's
// table.field.event.timestamp fails the connector task on timestamptz.
//
// # Metrics
//
// A writer with Count(NewMetrics(reg)) counts its events in
// outbox_events_written_total{aggregate,type} when the transaction that
// wrote them commits, never when the row is inserted: an insert that rolls
// back wrote nothing. The commit is observed through package pgtx: the
// consumer begins its transactions there, and so does each service's own
// writing transaction, so every event a service writes is counted once
// and only once it exists. An append through a transaction pgtx did not
// begin is written all the same, but not counted.
//
// # Keeping the table empty
//
// With DeleteAfterInsert(true) the writer deletes each row in the same
// transaction right after inserting it. The table stays empty while the WAL
// still carries the insert, which is all log-based capture needs; the router
// drops the delete.
package outbox
