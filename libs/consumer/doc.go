// Package consumer is the runtime every service uses to react to events:
// a Kafka consumer group member (franz-go) that hands each record to a
// handler inside a PostgreSQL transaction and deduplicates through an inbox
// table.
//
//	mux := consumer.Mux{"OrderCreated": consumer.On(onOrderCreated)}
//	c, err := consumer.New(consumer.Config{
//		Brokers: brokers, Group: "payment", Topics: []string{"outbox.event.order"},
//		Pool: pool, Logger: log, Handler: mux.Handle, Types: mux.Types(),
//		Validate: consumer.Validator(schemas.Validate, mux.Types()...),
//	})
//	...
//	err = c.Run(ctx) // until ctx is done
//
// # Payloads
//
// Validator builds Config.Validate from a schema check (schemas.Validate):
// the payload of every event of a type the service handles is checked
// once on its way in, before the handler, and one that breaks its schema
// is dead-lettered (ErrInvalid) since it never becomes valid. Events of
// other types pass unchecked: with Config.Types they never reach a
// transaction (see Per record), and without it the Mux acknowledges and
// ignores them. On wraps a handler of one payload type: the payload is
// decoded into it (Decode) before the handler runs, and one that does not
// decode is a permanent error. The Mux is the one list of handled types:
// Validator, Config.Types and the topics to subscribe derive from
// Mux.Types.
//
//	func onOrderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event, oc events.OrderCreated) error {
//		...
//
// The package knows no schemas: the caller passes the check.
//
// # Per record
//
//  1. Decode the record into an Event. The "id" header (the outbox row id)
//     must be a UUID; a record without one cannot be deduplicated and goes
//     to the dead-letter topic at once. A re-produced copy of an event keeps
//     its id, which is why no id is ever derived from topic, partition and
//     offset.
//  2. When Config.Types is set and the event's type is not among them, the
//     record is finished here: no transaction, no inbox row, no
//     validation, no handler; it is counted as ignored and its offset is
//     marked in its turn. Such an event has no effect, so there is nothing
//     to deduplicate, and it costs the database nothing.
//  3. Begin a transaction and claim (group, event id) in the inbox with
//     INSERT ... ON CONFLICT DO NOTHING (package inbox). A duplicate
//     commits the empty transaction and is skipped.
//  4. For a new event: run Config.Validate (once per record: a retried
//     attempt reuses its answer), then the handler with the transaction.
//  5. Commit. Only then is the record's offset marked for commit.
//
// # Batches
//
// A partition's records that have queued up (fetched, not yet handled) are
// taken up to Config.BatchSize at a time, and a run of events among them
// with two or more the handler takes is applied in one transaction: one
// statement claims all of those in the inbox (step 3, inbox.ClaimAll), step
// 4 runs for each new one in offset order, then one commit for all, after
// which the offsets of the whole run are marked in order. The run's events
// of ignored types (step 2) are not claimed; they are finished in their
// place after that commit, so no offset is marked before an earlier record
// is finished, and a run of them alone needs no transaction. A record never
// waits for others: at low load every batch is one record; under load one
// commit serves several. A batch's statements wait at most 50 ms for a row
// lock (lock_timeout): batches of two partitions that lock shared rows in
// different orders would otherwise deadlock and stand still until
// PostgreSQL's deadlock_timeout. A handler whose events update shared rows
// avoids those conflicts with Config.LockBatch: right after the claims, in
// the same round trip, it locks every row the batch's events will update,
// in one order, waiting up to BatchLockWait, so batches wait for each other
// instead. Should anything in the batch fail (a
// handler error, a poison record, a failed validation, a lock wait, the
// commit), the transaction rolls back, nothing of it takes effect, and its
// records go again one at a time as above, which applies the good ones, and
// retries or dead-letters the one that failed; the partition's batch limit
// drops to a quarter and grows back by one per record finished, so a
// partition whose batches keep conflicting runs at about one record per
// transaction, where batches cannot deadlock. A handler may therefore run
// more than once for an event (as with any retried attempt), but its effects
// commit once. Control records and records without a usable id are never
// part of a batch. A batch runs to its commit even when its partition is
// revoked or Run stops, like a record's attempt; no record starts after
// that.
//
// # Guarantee
//
// Delivery is at least once: a record is redelivered after a crash, a lost
// partition, or a failed offset commit. Effects are once per consumer
// group, provided the handler writes every effect through the transaction
// it is given: the effects and the inbox row commit together, so a
// redelivered event finds its row and is skipped. Side effects outside the
// transaction (HTTP calls, produced messages) may repeat. An event of a
// type outside Config.Types has no effect, so it is acknowledged without
// a transaction and leaves no inbox row.
//
// Records of one partition are handled strictly in offset order (a batch
// applies them in that order within its transaction), so events of one
// aggregate (one record key) take effect in the order they were written. Different partitions are handled concurrently,
// one goroutine per assigned partition.
//
// # Offsets
//
// The client commits with AutoCommitMarks: an offset is marked only when
// its record is finished (its transaction committed, it was skipped as a
// duplicate, it was ignored, or it was dead-lettered), and marks only move
// forward in offset order. Marked offsets are committed every five seconds
// (change with kgo.AutoCommitInterval in ClientOpts), after each partition
// revoked by a rebalance has drained, and at shutdown. A commit per record would
// add a broker round trip to every event; since the inbox makes a
// redelivered event harmless, the periodic commit only bounds how much is
// redelivered after a crash, never what takes effect.
//
// Committed producer transactions end with a control record (the commit
// or abort marker) that takes an offset of its own. The consumer receives
// those markers, never hands them to the handler, and finishes each one
// like a record, so a group's committed offset reaches the end of a
// partition whose last write was a transaction, as the Java consumer's
// does, rather than stopping one short of it for good.
//
// BlockRebalanceOnPoll keeps rebalance callbacks out of the window between a
// poll and the hand-over of its records to the partition goroutines. On
// revocation the partition's goroutine finishes the record in flight (no
// new attempt starts), its marks are committed, and only then is the
// partition released, so the next owner starts where this one stopped. The
// balancer is cooperative-sticky: a rebalance only stops the partitions that
// move. A partition with more than a few hundred records waiting is paused
// until its goroutine catches up, so a slow partition holds neither the
// others nor rebalances.
//
// Run's shutdown follows the same path for all partitions: stop polling,
// finish the records in flight (each bounded by Config.AttemptTimeout),
// commit, leave the group.
//
// # Failures
//
//   - Permanent: errors marked with Permanent, a *validation.Error from the
//     handler (the event breaks a domain rule, which no retry changes),
//     handler panics (recovered; the text is "panic: <value>", the stack is
//     logged), Validate
//     rejections (wrapping ErrInvalid) and undecodable records (wrapping
//     ErrUndecodable) are dead-lettered at once.
//   - Retried: any other error, including serialization failures (40001),
//     deadlocks (40P01), connections lost mid-transaction and an attempt
//     hitting Config.AttemptTimeout. Each attempt is a fresh transaction
//     (the failed one rolled back); waits follow capped exponential backoff
//     with jitter between BackoffMin and BackoffMax, and stop early when the
//     partition is revoked or Run ends (the record is then redelivered
//     later). After MaxAttempts attempts the record is dead-lettered.
//   - PostgreSQL unreachable (the transaction cannot begin, connection
//     exceptions 08xxx, server shutdown 57P01-57P03): retried the same way
//     but not counted against MaxAttempts, so an outage pauses the partition
//     instead of dead-lettering every event that arrives during it.
//
// # Dead-letter topic
//
// A failed record is produced to "<topic>.dlq" (see DLQSuffix) with the
// original key, value and headers, followed by:
//
//	dlq.error               error text
//	dlq.attempts            attempts made, decimal
//	dlq.original.topic      source topic
//	dlq.original.partition  source partition, decimal
//	dlq.original.offset     source offset, decimal
//	dlq.group               consumer group
//	dlq.failed.at           time of the decision, RFC 3339 in UTC
//
// dlq.error is cut at 8 KiB. The produce is retried until the broker
// acknowledges it; until then the offset is not committed and the
// partition waits, so no record is lost. A dead letter the broker refuses
// for its size would wait forever: it goes without its value (and, if that
// is not enough, without the original headers other than id, eventType and
// traceparent), and dlq.value.dropped says what was left out and why; the
// original stays in the source topic for its retention.
// Then the event (when it has an id) is claimed in the inbox with outcome
// 'dead_lettered' in its own transaction, so a redelivered copy is skipped
// rather than handled or dead-lettered again, and the partition moves on.
// Run creates the dead-letter topics (the broker's default partitions and
// replication) before it reads the first record, so the first dead letter
// does not wait for a topic to be created and found. Where the broker
// refuses, that is logged, and the topic is created on first use if the
// broker allows automatic topic creation; otherwise create it with the
// source topic.
//
// # Metrics
//
// With Config.Metrics (NewMetrics on the service's registry, given the
// Mux's Types) the consumer counts every record's outcome in
// consumer_events_total{group,topic,type,outcome} (processed, duplicate,
// dead_lettered, ignored, and retried once per attempt after the first),
// times attempts in consumer_handler_duration_seconds{group,topic,type},
// and reports consumer_lag{group,topic,partition} for each owned
// partition: its last stable offset as of its latest fetch minus the
// offset after its last finished record, 0 once everything fetched is
// finished (the markers above included). The type label is the event type
// when the Mux handles it and "other" otherwise, so producers cannot grow
// the series.
//
// # Tracing
//
// With Config.Tracing each record gets a consumer span, "process <topic>",
// whose parent is the span named by the record's traceparent header (the
// writer's, in the service that wrote the event), so the asynchronous hop
// stays inside one trace. It covers every attempt and the dead-lettering,
// and carries messaging.system, messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset,
// messaging.kafka.message.key, messaging.consumer.group.name,
// messaging.message.id (the event id), event.type and consumer.outcome
// (processed, duplicate, ignored or dead_lettered); failed attempts are
// recorded as errors on it, a "retry" event marks each further attempt,
// and a dead-lettered record sets its status to error. An ignored record
// gets its span too, so the trace stays connected. Under it, for a new
// event of a type the handler takes, "handle <type>" spans the handler's
// work; the handler's context holds that span, so the events it appends to
// its outbox carry the trace on. The record's span is the context's entry
// span (tracing.SetOrderID labels it too).
//
// # Inbox retention
//
// While Run runs, the group's inbox rows older than Config.InboxRetention
// (default 7 days) are deleted every InboxPruneInterval, in batches of 1000
// rows, each batch a short statement that skips rows a claim holds. The
// retention is the window in which a duplicate is recognised: a copy of an
// event delivered later than that (a topic replayed from further back, say)
// would take effect again. Redeliveries after a crash come within seconds
// or minutes; keep the retention well above the oldest offset a consumer
// group could be reset to.
//
// # Required tables
//
// The inbox table (inbox.Schema, name set by Config.InboxTable) in the
// database of Config.Pool, next to the tables the handlers write.
//
// # Other behaviour
//
//   - Event fields come from the headers "id", "eventType" and
//     "traceparent" (the first occurrence of each counts); the id is
//     canonicalised to lower-case UUID text. A record without "eventType"
//     has Type "" and is handled like any other.
//   - A new group starts at the earliest offset; records of aborted
//     producer transactions are skipped (read_committed).
//   - Logs use stable keys: group, topic, partition, offset, event_id,
//     event_type, attempt, error, dlq_topic.
//   - Ping reports readiness: Run is active, the group is joined, a broker
//     answers.
//
// # Limits
//
// Under load a partition's throughput is bounded by the database's work per
// batch, at low load by its commit latency; scale with partitions. A
// batch holds the row locks its handlers take until it commits: handlers
// of different partitions that share hot rows (one stock row for many
// orders) gain little from batches, which then shrink. A record that keeps
// failing holds its partition for its attempts and backoff. Config gained
// AttemptTimeout beyond the original field set: without a bound, one hung
// handler would hold its partition, rebalances and shutdown forever.
package consumer
