// Package inbox records which events a consumer group has already handled,
// so a redelivered event is recognised and skipped.
//
// # Contract
//
// Claim inserts one row keyed by (consumer group, event id) through the
// caller's transaction with INSERT ... ON CONFLICT DO NOTHING:
//
//   - claimed = true: the event is new to the group; the row exists if and
//     only if the caller's transaction commits, so the caller applies the
//     event's effects in the same transaction.
//   - claimed = false: another transaction of the group already committed a
//     row for this event; the caller applies nothing and commits.
//
// Two transactions claiming the same event at once serialise on the primary
// key: the second waits for the first and then sees a conflict (claimed =
// false) if the first committed, or claims the event if it rolled back. The
// effects therefore happen once per group whatever the delivery count,
// provided every effect is written through the same transaction.
//
// ClaimAll claims several deliveries (a consumer's batch) in one statement,
// with the same answer for each as Claim would give in turn: an id given
// twice is claimed by its first delivery only. QueueClaimAll queues that
// statement on a pgx.Batch instead, for a caller that sends statements of
// its own after it in the same round trip.
//
// Event ids are UUIDs (the outbox row id carried in the Kafka "id" header);
// Claim and ClaimAll fail on anything else.
//
// # Table
//
// Schema holds the DDL services copy into their own migrations. Columns:
//
//	consumer_group  text         Kafka consumer group that handled the event
//	event_id        uuid         the event id; (consumer_group, event_id) is the primary key
//	kafka_topic     text         where the event was read: topic,
//	kafka_partition integer      partition
//	kafka_offset    bigint       and offset of the delivery that was claimed
//	event_type      text         the "eventType" header ("" when absent)
//	outcome         text         'processed' or 'dead_lettered'
//	received_at     timestamptz  when the row was written
//
// The text columns have no length limit on purpose: a claim must not fail
// because a header is longer than expected.
// A table with another name has the same columns; pass its name (it may be
// schema-qualified, "app.inbox") to Claim.
//
// # Limits
//
// Rows are never deleted by this package. A row only matters while a copy of
// its event can still be delivered, so a service may delete rows older than
// its topics' retention (the received_at index supports that). Deleting
// newer rows lets a redelivered event take effect twice.
package inbox
