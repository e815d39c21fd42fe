// Package e2e holds the relay's end-to-end tests: real PostgreSQL, a real
// Kafka-protocol broker, the REST API over HTTP, and for crash safety the
// walrelay binary itself. It has no code of its own.
package e2e
