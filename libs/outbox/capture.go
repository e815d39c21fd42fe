package outbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoCapture is wrapped by Append's error, with RequireCapture on, when
// no logical replication slot of the database has reached its consistent
// point: nothing would capture the event, which would be lost. It answers HTTPStatus 503 and
// Unavailable true, so an HTTP request fails with a retryable error and a
// consumer waits (without dead-lettering) until the connector is set up.
var ErrNoCapture error = captureError{}

type captureError struct{}

func (captureError) Error() string {
	return "outbox: no logical replication slot captures this database: the event would be lost; register its connector"
}

// HTTPStatus is 503 Service Unavailable: the request may succeed later.
func (captureError) HTTPStatus() int { return 503 }

// ErrorCode is the error's stable code in an HTTP answer.
func (captureError) ErrorCode() string { return "capture_unavailable" }

// Unavailable reports that the failure is the system's, not the event's.
func (captureError) Unavailable() bool { return true }

// RequireCapture, when on, makes Append refuse (ErrNoCapture) to write
// while no logical replication slot of the database has reached its
// consistent point, checked in the writing transaction. A slot created later never sees events
// committed before it, so an event written without one would be lost.
func RequireCapture(on bool) Option { return func(w *Writer) { w.requireCapture = on } }

// Querier runs one query; a pool, a connection and a transaction are all
// Queriers.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// captureExists holds when a usable logical replication slot exists in the
// current database; Append guards its insert with it. A slot is listed as
// soon as its creation starts, but decodes only what commits after its
// consistent point, which it reaches once every transaction that held an
// id when it started has ended; its confirmed_flush_lsn is set then. A
// transaction that sees it set commits after that point, so is decoded.
const captureExists = `EXISTS (
  SELECT 1 FROM pg_replication_slots
  WHERE database = current_database() AND slot_type = 'logical'
    AND confirmed_flush_lsn IS NOT NULL AND wal_status IS DISTINCT FROM 'lost')`

// CaptureReady reports, through q (a pool for a readiness check), whether
// a usable logical replication slot exists in q's database: nil when one
// does, an error wrapping ErrNoCapture when none does.
func CaptureReady(ctx context.Context, q Querier) error {
	var ok bool
	if err := q.QueryRow(ctx, "SELECT "+captureExists).Scan(&ok); err != nil {
		return fmt.Errorf("outbox: look for a replication slot: %w", err)
	}
	if !ok {
		return ErrNoCapture
	}
	return nil
}
