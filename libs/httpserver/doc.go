// Package httpserver is the HTTP plumbing the services share: an echo v4
// instance with one error handler, a body size limit, panic recovery,
// request logging, liveness and readiness endpoints, strict JSON decoding
// and graceful shutdown.
//
// Every error leaves as
//
//	{"error": {"code": "validation_failed", "message": "...", "details": [...]}}
//
// The error handler is the one place errors become statuses. Handlers
// return, or wrap:
//
//   - a *validation.Error (package validation, what the domains return
//     for input that breaks a rule): 422 validation_failed, one detail
//     {"field", "message"} per invalid field, in order;
//   - an *Error for any other expected failure: its own status and code;
//     one made by NewRefusal is an answer the server gives by design to
//     protect itself (503 overloaded while it sheds load).
//
// Anything else is logged and answered with a 500 that reveals nothing
// internal: its body carries an "errorId" that the log line also holds.
// GET /readyz names a failing check ("failing") and an errorId, never the
// check's error text.
//
// Path parameters reach handlers percent-decoded exactly once; one that is
// not UTF-8 or holds a control character (NUL included) is a 400
// bad_path_parameter before any handler runs, and such a query parameter a
// 400 bad_query_parameter. Every connection is bounded by Timeouts (header,
// whole request, response, idle), so a slow or silent client cannot hold
// one for long.
//
// Each request is logged ("http request": method, URI, status, latency) at
// a level by its status: Debug for 1xx to 3xx, Info for 4xx, Error for
// 5xx; GET /healthz, /readyz and /metrics, and refusals (NewRefusal), at
// Debug whatever their status. A refusal carries no errorId: it has no
// cause to find in the log.
//
// ServeMetrics serves a Prometheus registry at GET /metrics and counts
// every request in it by method, route template ("/orders/:id", never the
// raw path; "unmatched" when no route matched) and status.
package httpserver
