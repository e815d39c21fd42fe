// Package tracecontext carries W3C trace context across the asynchronous
// hop without a tracing agent: an HTTP request's traceparent header or a
// consumed event's traceparent header becomes the remote span context of
// the Go context, which libs/outbox writes into the outbox row's
// traceparent column, which the connector places in the next record's
// traceparent header.
//
// It parses with OpenTelemetry's W3C TraceContext propagator, so a service
// that installs an OpenTelemetry SDK gets real spans parented on the same
// context.
package tracecontext
