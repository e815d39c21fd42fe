package order

import (
	"errors"
	"strings"
)

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

// FieldError names one invalid field and why it is invalid.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every invalid field of a request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid order: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// errOrNil returns e as an error when it holds fields, nil otherwise (a nil
// *ValidationError in an error interface would not be nil).
func (e *ValidationError) errOrNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
