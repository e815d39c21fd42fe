// Package saga holds the end-to-end test of the order saga: the three
// services, the embedded broker and walrelay streaming each service's
// outbox, registered with the connector JSON users run. It has no code of
// its own.
package saga
