// Package e2e holds the relay's end-to-end tests: real PostgreSQL, a real
// Kafka-protocol broker, the REST API over HTTP, for crash safety the
// walrelay binary itself, and for the differential test real Apache Kafka,
// Kafka Connect and Debezium (testkit/jvmstack; without java it skips outside
// CI). It has no code of its own.
package e2e
