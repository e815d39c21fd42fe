// Package sagatest runs the order saga across the three services: each
// service in-process on its own database, the embedded broker, and walrelay
// streaming every outbox, registered with the connector JSON users run. It
// checks the happy path and each compensation. It has no code of its own.
//
// It differs from the stack check (scripts/e2e.sh, compose/devstack/cmd/e2e),
// which drives whichever stack already listens on the standard ports, and
// from each service's own tests, which stand in for the other services.
package sagatest
