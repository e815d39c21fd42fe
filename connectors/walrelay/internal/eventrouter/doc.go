// Package eventrouter turns one captured outbox row into exactly the Kafka record that Debezium's PostgreSQL
// connector, its Outbox Event Router (io.debezium.transforms.outbox.EventRouter) and the configured Kafka Connect
// converters would produce: topic, partition, key bytes, value bytes, headers in order, and timestamp. It is pure
// logic — no database, no broker — and follows /work/shared/contracts/debezium-outbox.md (Debezium 3.6.1 /
// 3.7 HEAD, Kafka Connect 3.9-4.x, JDK 21).
//
// # What it implements
//
// New validates the part of a Kafka Connect connector configuration this package owns (see Owns) and reports
// every problem as a ConfigError naming the key; an owned key it does not understand, or a value it does not
// implement, is an error, never silently ignored:
//
//   - transforms: exactly one transformation, of type io.debezium.transforms.outbox.EventRouter (alias
//     "EventRouter" accepted), with all of its keys: route.by.field, route.topic.regex (a java.util.regex pattern),
//     route.topic.replacement (a Java replacement string, $n and ${name}), route.tombstone.on.empty.payload,
//     table.field.event.{id,key,type,payload,timestamp,schema.version}, table.fields.additional.placement
//     (col:header[:alias], col:envelope[:alias], col:partition), table.field.additional.missing,
//     table.op.invalid.behavior, table.expand.json.payload, table.json.payload.null.behavior,
//     field.name.adjustment.mode=none, and the tracing.* keys (accepted; see limits). Predicates are rejected.
//     Two keys Debezium 3.6 does not define are accepted with any value and ignored, as Debezium 3.6.1 ignores
//     them: the pre-3.6 boolean table.fields.additional.error.on.missing and the 3.7
//     table.json.payload.empty.array.behavior.
//   - key.converter, value.converter: StringConverter (UTF-8), JsonConverter (schemas.enable, decimal.format,
//     replace.null.with.default, schemas.cache.size), ByteArrayConverter; header.converter: SimpleHeaderConverter or
//     any of those. Resolution follows Kafka Connect: the connector's class and its prefixed properties when the
//     connector sets the class, else the worker's (Worker), else the Debezium image defaults (JsonConverter with
//     schemas, SimpleHeaderConverter). A connector-level "key.converter.x" without "key.converter" is an error,
//     because Connect would silently ignore it.
//   - topic.prefix (required), topic.delimiter, topic.heartbeat.prefix, topic.heartbeat.name,
//     topic.naming.strategy (SchemaTopicNamingStrategy only), topic.cache.size, extended.headers.enabled (default
//     true: the __debezium.context.* headers, including runId as in 3.4+), message.prefix.include.list and
//     message.prefix.exclude.list.
//
// Route follows EventRouterDelegate.apply step by step, with Debezium's and Kafka's exception texts:
//
//   - deletes are dropped; updates are dropped with a WARN/ERROR log or fail with table.op.invalid.behavior=fatal;
//     an update that changes the primary key (Change.OldKey set) is routed as the create Debezium emits, with the
//     __debezium.oldkey header first; truncates are dropped unless skipped.operations lets them through, in which
//     case the router fails as Debezium's does;
//   - the topic comes from the routing column through RegexRouter semantics (Matcher.matches() decides,
//     replaceFirst on the leftmost match rewrites, no match keeps the raw value; NULL fails the task) and is then
//     checked against Kafka's topic-name rules;
//   - the key is the key column through the key converter (JsonConverter schemas carry "optional" from NOT NULL);
//   - the value is the payload column, or the envelope struct {payload, aliases...} when an envelope placement
//     exists (schema name <prefix>.<schema>.<table>.<routed value>.Value, cached per payload schema or per
//     table.field.event.schema.version exactly like the SMT, so the name sticks to the first routed value and a
//     changed expanded payload under one version fails with "Struct schemas do not match.");
//   - table.expand.json.payload parses with Jackson's readTree rules and infers the schema like JsonSchemaData
//     (int32/int64/float64/string/boolean/struct/array, nulls and empty arrays dropped by default, arrays of
//     objects merged, the inferred schema kept even when the data conversion fails);
//   - empty payloads use Java's String.trim (only chars <= U+0020); a bytea payload is never empty;
//   - headers: __debezium.oldkey, the context headers, "id", then header placements in order, each through the
//     header converter (SimpleHeaderConverter: Values.convertToString);
//   - the timestamp is processing time, or the timestamp column (timestamp(0..3) millis, timestamp(4..6) and
//     plain timestamp micros/1000, read as UTC; timestamptz and other types fail as in Debezium; NULL falls back;
//     negative values other than -1 fail like Connect's checkAndConvertTimestamp);
//   - a partition placement reads an int4 column (other types fail; a negative value fails like the
//     ProducerRecord constructor; a partition beyond the topic's count is for the caller to check).
//
// Column values are converted from pgoutput text the way Debezium's PostgresValueConverter does with its defaults
// (decimal.handling.mode=precise, time.precision.mode=adaptive, binary.handling.mode=bytes): bool, int2, int4,
// int8, oid, float4, float8, numeric (Decimal with scale and connect.decimal.precision, or VariableScaleDecimal
// when unconstrained; NaN/Infinity fail the task), text, varchar, bpchar, json, jsonb (io.debezium.data.Json),
// uuid (io.debezium.data.Uuid), xml, bytea (ByteBuffer; hex or escape output), date (infinity as Debezium's stream
// and, differently, its JDBC snapshot read it), timestamp, timestamptz
// (ZonedTimestamp ISO text in UTC with exactly the column's fractional digits, 6 for a plain timestamptz;
// infinity kept as text).
//
// Heartbeat builds the heartbeat record (ServerNameKey / Heartbeat structs, partition 0, no headers). Message
// builds the record of a pg_logical_emit_message message as Debezium's LogicalDecodingMessageMonitor does: topic
// "<topic.prefix>.message", key MessageKey{prefix}, value MessageValue{op "m", ts_ms, source, transaction null,
// message{prefix, content}}, filtered by the message prefix lists (case-insensitive full-match regexes).
// Murmur2Partition is the Java producer's default partitioner for keyed records.
//
// Byte-level pieces of the JVM and Kafka Connect live under internal/jvmcompat: javafmt (Double/Float/BigDecimal
// toString, String.trim), jackson (readTree and Jackson's string escaping), javaregex (java.util.regex on RE2),
// connectdata (Connect schemas, structs and values), converter (the Connect converters) and configdef (ConfigDef's
// parsing of property values, e.g. booleans).
//
// # Fidelity
//
// Everything in the contract's golden file (testdata/debezium-golden.json) is reproduced byte for byte, and the
// code paths above are ports of the named Java methods, not approximations. Where Java's output is not
// reproducible or not knowable, the package fails loudly instead of guessing.
//
// # Known limits
//
//   - Column DEFAULT values are not modelled. Debezium puts literal defaults into the Connect schema (visible as
//     "default" in JsonConverter schemas output) and, with replace.null.with.default=true, writes the default for a
//     NULL value of such a column.
//   - Column types other than those listed fail the task when the router reads them (unread columns of other
//     types are ignored; Debezium would convert them). include.schema.comments and column.* mappers are not
//     modelled (they are not owned by this package; the source task must reject them).
//   - Arrays of objects with differing shapes: Java merges the element schemas in HashSet order, which depends
//     on identity hash codes and is not deterministic; this package merges in order of first appearance.
//   - StringConverter on a value containing a Java byte[] (a VariableScaleDecimal's inner value, or the
//     unavailable-value placeholder of an unchanged TOASTed bytea column) prints "[B@" and an identity hash code,
//     as Java does; Java's hash is arbitrary, so the digits are random and never match Debezium's.
//   - java.util.regex constructs RE2 cannot run (backreferences, lookaround, possessive quantifiers, atomic
//     groups, class intersection) are rejected at New; routed values containing line terminators are refused
//     when the pattern uses '$', \Z or MULTILINE anchors (see package javaregex).
//   - Tracing: OpenTelemetry is treated as absent (the Debezium image default without ENABLE_OTEL), so no
//     traceparent header is added; the tracing.* keys are accepted and have no effect.
//   - The SMT's payload-schema cache (BoundedConcurrentHashMap, 10 LRU segments) is emulated as one LRU of 10,000
//     entries; only the envelope schema name after evictions could differ.
//   - Message records: source.version is DebeziumVersion; source.ts_ms comes from LogicalMessage.CommitTime (now
//     when zero; for a message that is not transactional the source task passes the last commit time it streamed, but
//     after a restart Debezium would start from the one in its stored offsets);
//     source.xmin, origin and transaction are always null (xmin.fetch.interval.ms, origins and
//     provide.transaction.metadata are not implemented). Heartbeat and message timestamps are the producer's send
//     time; Record.Timestamp carries the now passed in.
//   - Text values are decoded as UTF-8 with U+FFFD for invalid bytes (per byte; Java replaces per malformed
//     sequence), so the server encoding should be UTF8.
//   - Logging: skipped updates and failed JSON expansion are logged to the log/slog logger given to New.
package eventrouter
