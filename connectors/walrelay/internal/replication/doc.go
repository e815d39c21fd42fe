// Package replication talks to PostgreSQL for the relay: the
// replication=database connection that streams a pgoutput slot, and the
// catalog work around it on an ordinary connection (server checks,
// publication upkeep, slot state, column facts, snapshot reads).
//
// A stream is set up in this order, which pgoutput requires:
//
//  1. CheckServer: wal_level=logical, PostgreSQL 14 or newer.
//  2. EnsurePublication: create or align the publication
//     (all_tables, filtered, no_tables, or disabled = must exist).
//  3. SlotState / Conn.CreateSlot: the logical slot with the pgoutput
//     plugin, optionally exporting a snapshot for an initial read
//     (ReadSnapshot) before streaming starts.
//  4. Conn.Start: START_REPLICATION from the slot's confirmed position with
//     proto_version '1', the publication, and messages 'true'.
//  5. Conn.Receive in a loop; Conn.SendStatus to confirm progress. A
//     received message lives until the next Receive. Conn.CatchUpPause
//     trades a millisecond of latency for reading a backlog in batches.
//
// The slot is the resume point: PostgreSQL resends every transaction that
// committed after the slot's confirmed_flush_lsn, which only moves when the
// caller confirms a position with SendStatus. Confirm a transaction only
// after its effects are durable elsewhere.
//
// Limits: one connection per stream, no TLS-specific handling beyond what
// the connection string says, catalog facts are read when a Relation
// message arrives (the current catalog, not the one at the time the WAL was
// written; ALTER TABLE in flight can make them differ).
package replication
