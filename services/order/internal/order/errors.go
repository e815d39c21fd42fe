package order

import "errors"

var (
	// ErrNotFound means no order has the requested id.
	ErrNotFound = errors.New("order not found")
	// ErrConflict means the order changed since it was loaded; the caller
	// may reload and retry.
	ErrConflict = errors.New("order changed concurrently")
	// ErrIdempotencyKeyReused means an idempotency key already names an
	// order placed with a different request.
	ErrIdempotencyKeyReused = errors.New("idempotency key already used for a different request")
)
