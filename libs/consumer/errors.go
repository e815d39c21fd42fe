package consumer

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// ErrUndecodable is wrapped by the error of a record that cannot become an
// Event: its "id" header is missing or is not a UUID. Such records go to the
// dead-letter topic at once.
var ErrUndecodable = errors.New("consumer: undecodable record")

// ErrInvalid is wrapped by the error of an event that Config.Validate
// rejected. Such events go to the dead-letter topic at once.
var ErrInvalid = errors.New("consumer: invalid event")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the event goes to the dead-letter topic
// without further attempts. It returns nil for a nil err. The mark survives
// wrapping with %w.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether the runtime dead-letters err without retrying:
// err, or an error it wraps, was marked by Permanent (decode failures,
// Validate rejections and handler panics are) or is a *validation.Error
// (the event breaks a domain rule, which no retry changes).
func IsPermanent(err error) bool {
	if _, ok := errors.AsType[*permanentError](err); ok {
		return true
	}
	_, ok := errors.AsType[*validation.Error](err)
	return ok
}

// panicError carries a recovered handler panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// unavailableError marks a failure to reach PostgreSQL at all, before any
// work for the event was attempted.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// beginError is the error of a transaction's first statement, which
// carries its BEGIN (pgtx.Deferred): when the statement never reached
// PostgreSQL (its pooled connection was found dead, as after a restart),
// nothing was attempted and PostgreSQL is unavailable, as when a BEGIN of
// its own fails.
func beginError(err error) error {
	if pgconn.SafeToRetry(err) {
		return &unavailableError{fmt.Errorf("consumer: begin: %w", err)}
	}
	return err
}

// commitUnknownError marks a failed commit: the transaction may or may not
// have committed (the answer, not the commit, may have been lost).
type commitUnknownError struct{ err error }

func (e *commitUnknownError) Error() string { return e.err.Error() }
func (e *commitUnknownError) Unwrap() error { return e.err }

// class is what the runtime does after a failed attempt.
type class int

const (
	// retry: a transient or unknown failure; retried with backoff, and
	// counted against Config.MaxAttempts.
	retry class = iota
	// permanent: dead-letter now.
	permanent
	// unavailable: PostgreSQL cannot be reached; retried with backoff
	// without counting, so an outage pauses the partition instead of
	// dead-lettering every event that arrives during it.
	unavailable
)

func (c class) String() string {
	switch c {
	case permanent:
		return "permanent"
	case unavailable:
		return "unavailable"
	default:
		return "retry"
	}
}

// classify decides what to do after a failed attempt. Permanent errors
// (IsPermanent) win; then failures to reach the database; everything else (serialization
// failures, deadlocks, attempt timeouts, connections lost mid-transaction,
// unknown handler errors) is retried a bounded number of times.
func classify(err error) class {
	if IsPermanent(err) {
		return permanent
	}
	var ua *unavailableError
	if errors.As(err, &ua) {
		return unavailable
	}
	// An error that says the system cannot take the event now (such as
	// outbox.ErrNoCapture) waits like an outage: the event is not at fault.
	if u, ok := errors.AsType[interface {
		error
		Unavailable() bool
	}](err); ok && u.Unavailable() {
		return unavailable
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return unavailable
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return unavailable
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return unavailable
		}
	}
	return retry
}
