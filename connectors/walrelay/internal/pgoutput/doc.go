// Package pgoutput decodes the messages of PostgreSQL's built-in logical
// decoding plugin pgoutput and the CopyData framing of the streaming
// replication protocol that carries them.
//
// Two layers:
//
//   - ParseCopyData splits one CopyData payload of a START_REPLICATION
//     stream into XLogData ('w'), PrimaryKeepalive ('k') or, for
//     completeness, StandbyStatusUpdate ('r'). StandbyStatusUpdate.Append
//     encodes the client's reply.
//   - Parse decodes the pgoutput message inside an XLogData: Begin, Commit,
//     Origin, Relation, Type, Insert, Update, Delete, Truncate and
//     LogicalMessage (pg_logical_emit_message, sent when the stream was
//     started with messages 'true').
//
// The package does no I/O: it turns bytes into values. Decoded values alias
// the input slice (column values, message content, XLogData.Data); copy the
// CopyData payload first when it must outlive the next receive on the
// connection. A Decoder does the same work without allocating per row: it
// reuses its messages and tuples, so what it returns lives only until its
// next call.
//
// Limits:
//
//   - Protocol version 1 only (proto_version '1'). The streaming of
//     in-progress transactions (v2: Stream Start/Stop/Commit/Abort) and
//     two-phase commit (v3: Begin Prepare, Prepare, ...) are reported as
//     ErrUnsupported; a version 1 stream never contains them.
//   - Column values are kept in the form pgoutput sends them: PostgreSQL's
//     text output ('t'), or TupleUnchanged ('u') for an unchanged TOASTed
//     value of an UPDATE, or TupleNull ('n'). Binary values ('b', sent only
//     with the binary option of protocol 2+) are decoded but not
//     interpreted.
//   - Column catalog facts beyond what a Relation message carries (NOT
//     NULL, domain base types) are not in the stream; callers look them up.
//
// Timestamps on the wire are microseconds since 2000-01-01 00:00:00 UTC;
// they are returned as time.Time in UTC.
package pgoutput
