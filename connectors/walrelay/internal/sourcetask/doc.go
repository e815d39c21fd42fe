// Package sourcetask runs the task of one connector, the part of Debezium's
// PostgreSQL connector that a Kafka Connect worker runs as its source task:
// it parses the PostgreSQL part of a Debezium connector configuration,
// keeps the publication and the replication slot the way Debezium does,
// streams the slot, hands every change to the eventrouter and produces the
// records to Kafka.
//
// Contract:
//
//   - ParseConfig accepts the Debezium PostgreSQL connector keys the relay
//     implements, a list of keys that change no record (accepted and
//     ignored), a list accepted only with the value the relay behaves like,
//     and leaves eventrouter.Owns keys to eventrouter.New. Any other key is
//     an error, so a configuration never silently means something else than
//     it does on Debezium. Validate adds the router's checks and a database
//     connection.
//   - Start runs a task in the background: publication (all_tables,
//     filtered, no_tables, disabled), slot (created with pgoutput, optionally
//     with an initial snapshot), then the stream from the slot's confirmed
//     position. A new eventrouter.Router is built at every start (its run
//     id is the __debezium.context.runId header).
//   - Delivery is at least once: a WAL position is confirmed to PostgreSQL
//     only after the broker acknowledged every record produced from WAL
//     before it (see package delivery). Stop flushes the producer and
//     confirms before closing; a crash resends from the last confirmed
//     position.
//   - The producer is idempotent with acks=all, without compression and
//     with a 5 ms linger (the Java producer's defaults since Kafka 4.0, as
//     Kafka Connect would use them); producer.override.linger.ms sets the
//     linger of one connector, as it does on Kafka Connect. A stream whose
//     transactions arrive more than 100 ms after their commit is catching
//     up on a backlog and reads it in batches (a read that found little
//     waits 1 ms first); a stream that keeps up reads each message as it
//     arrives.
//   - A task starts STARTING and is RUNNING once its slot exists (found
//     or created), or once a first attempt failed with a retriable error:
//     every row committed after it reports RUNNING is captured.
//   - A stream that hears nothing from the server for Options.Silence
//     (60 s), though it asked for a reply halfway, is given up as lost.
//   - Retriable errors (lost connections, server shutdown, a silent
//     server, a slot still held by a dying connection) reconnect with
//     backoff while the task stays RUNNING; router and producer errors,
//     and misconfigurations, end the task FAILED with a Java-style trace.
//   - Stop with slot.drop.on.stop drops the slot whether the task was
//     streaming or waiting to reconnect; Suspend (pause) never drops it,
//     and neither does stopping a task that already FAILED.
//   - The slot's retained-WAL gauge is read on a connection of its own
//     from Start until Stop or Suspend: while the task streams, while it
//     waits to reconnect and after it FAILED.
//
// Files by concern: task.go (lifecycle: start, stop, retries, states),
// stream.go (one connection attempt and the streaming loop), changes.go
// (pgoutput rows to router changes), slot.go (checking, creating, resuming
// and dropping the slot), snapshot.go (the initial snapshot), producer.go
// (the Kafka producer), acks.go (the delivery tracker and the positions
// confirmed to PostgreSQL), periodic.go (heartbeats and status updates when
// due), metrics.go (the produced counters and the slot watcher behind the
// retained-WAL gauge), config.go and filter.go (the connector
// configuration), validate.go, errors.go (retriable errors and task
// traces).
//
// Limits: pgoutput protocol version 1 (transactions arrive after they
// commit), text-format values, snapshot modes initial and no_data only,
// column facts read from the current catalog.
package sourcetask
