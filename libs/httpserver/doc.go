// Package httpserver is the HTTP plumbing the services share: an echo v4
// instance with one error handler, a body size limit, panic recovery,
// request logging, liveness and readiness endpoints, strict JSON decoding
// and graceful shutdown.
//
// Every error leaves as
//
//	{"error": {"code": "validation_failed", "message": "...", "details": [...]}}
//
// Handlers return *Error values (or errors wrapping them) for expected
// failures; anything else is logged and answered with a 500 that reveals
// nothing internal.
package httpserver
