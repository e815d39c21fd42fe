// Package tracing gives a process its OpenTelemetry tracer provider, as
// the standard OTEL_* environment variables ask for, and names the span
// attributes the project's instrumentation shares.
//
// # Configuration
//
// Setup reads, through the getenv it is given:
//
//	OTEL_SDK_DISABLED                   "true": no SDK, no exporter
//	OTEL_TRACES_EXPORTER                "otlp" (default) or "none"
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the full URL spans are sent to
//	OTEL_EXPORTER_OTLP_ENDPOINT         base URL; spans go to <base>/v1/traces
//	OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL "http/protobuf" (the only one supported)
//	OTEL_SERVICE_NAME                   the service's name (default: Setup's)
//
// With no endpoint set (or the SDK disabled, or the exporter "none") the
// provider is OpenTelemetry's no-op one: spans cost nothing beyond passing
// the W3C trace context along (package tracecontext), and a trace begun
// upstream still flows through. With an endpoint, spans are batched and
// sent over OTLP/HTTP; the SDK itself reads the remaining standard
// variables (OTEL_TRACES_SAMPLER and its argument, default parent-based
// always-on; OTEL_BSP_* for the batching; OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, _COMPRESSION; OTEL_RESOURCE_ATTRIBUTES) from the process
// environment. An endpoint that is not an http(s) URL, an unknown
// exporter or an unsupported protocol is an error, never a silent
// fallback.
//
// # Guarantees
//
//   - Provider.Shutdown sends the spans still batched, within its context,
//     and is a no-op for the no-op provider.
//   - Export failures (the backend down) never fail or block the service:
//     spans are dropped after the SDK's retries, and ErrorHandler logs
//     them at most once per interval.
//
// # Attributes
//
// OrderID is the attribute every span that concerns one order carries, so
// a trace can be found by order in the backend's search; SetOrderID puts
// it on the span in a context and on the span the work entered the
// process by (an HTTP request's, a consumed record's).
package tracing
