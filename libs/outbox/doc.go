// Package outbox appends events to a transactional outbox table in the shape
// Debezium's Outbox Event Router reads.
//
// # Guarantee
//
// Append writes through the caller's transaction and nothing else: the
// event exists if and only if that transaction commits. There is no
// after-commit publish step to lose on a crash, and no poller: a change data
// capture connector (Debezium, or the project's walrelay) reads the inserted
// rows from the write-ahead log and routes each one to Kafka.
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
// # Keeping the table empty
//
// With DeleteAfterInsert the writer deletes each row in the same
// transaction right after inserting it. The table stays empty while the WAL
// still carries the insert, which is all log-based capture needs; the router
// drops the delete.
package outbox
