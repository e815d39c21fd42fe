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
//   - an *Error for any other expected failure: its own status and code.
//
// Anything else is logged and answered with a 500 that reveals nothing
// internal.
package httpserver
