// Package systemtest tests walrelay as a system: the REST API over HTTP
// against real PostgreSQL and a real Kafka-protocol broker, the walrelay
// binary itself for crash safety and WAL retention, and, in the
// differential test, its records against Debezium's on real Apache Kafka
// and Kafka Connect (testkit/jvmstack; without java it skips outside CI,
// under CI=true it fails). It has no code of its own.
package systemtest
