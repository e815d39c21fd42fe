package outbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// With RequireCapture, no event is written while no logical replication
// slot exists in the database (it would never be published); once one
// exists, events are written. A physical slot or a slot in another
// database does not count.
func TestRequireCapture(t *testing.T) {
	conn := setup(t)
	w := outbox.NewWriter(outbox.RequireCapture(true))
	appendOne := func() error {
		return pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
			return w.Append(t.Context(), tx, event("0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"))
		})
	}
	err := appendOne()
	if !errors.Is(err, outbox.ErrNoCapture) || count(t, conn) != 0 {
		t.Fatalf("Append without a slot = %v (%d rows), want ErrNoCapture and no row", err, count(t, conn))
	}
	// What the HTTP and consumer runtimes read from it.
	var se interface {
		HTTPStatus() int
		ErrorCode() string
		Unavailable() bool
	}
	if !errors.As(err, &se) || se.HTTPStatus() != http.StatusServiceUnavailable || se.ErrorCode() != "capture_unavailable" || !se.Unavailable() {
		t.Fatalf("ErrNoCapture = %#v", err)
	}
	if err := outbox.CaptureReady(t.Context(), conn); !errors.Is(err, outbox.ErrNoCapture) {
		t.Fatalf("CaptureReady without a slot = %v", err)
	}

	if _, err := conn.Exec(t.Context(), `SELECT pg_create_physical_replication_slot('not_a_capture')`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), `SELECT pg_drop_replication_slot('not_a_capture')`)
	})
	if err := appendOne(); !errors.Is(err, outbox.ErrNoCapture) {
		t.Fatalf("Append with only a physical slot = %v, want ErrNoCapture", err)
	}

	if _, err := conn.Exec(t.Context(), `SELECT pg_create_logical_replication_slot('capture_test', 'pgoutput')`); err != nil {
		t.Fatal(err)
	}
	if err := outbox.CaptureReady(t.Context(), conn); err != nil {
		t.Fatalf("CaptureReady with a slot = %v", err)
	}
	if err := appendOne(); err != nil || count(t, conn) != 1 {
		t.Fatalf("Append with a slot = %v (%d rows), want one row", err, count(t, conn))
	}
	// Without the option the check is not made at all.
	if _, err := conn.Exec(t.Context(), `SELECT pg_drop_replication_slot('capture_test')`); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		return outbox.NewWriter().Append(t.Context(), tx, event("0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b11"))
	}); err != nil {
		t.Fatalf("Append without RequireCapture = %v", err)
	}
}

// A slot being created does not count until it has reached its consistent
// point: a transaction committed before that point is never decoded, yet
// the slot is listed from the moment its creation starts. Creating a
// logical slot waits for every transaction holding an id; the test holds
// one open to keep the creation in between.
func TestRequireCaptureWaitsForTheSlotsConsistentPoint(t *testing.T) {
	conn := setup(t)
	dsn := conn.Config().ConnString()
	release := pgtest.HoldTransactionID(t, dsn)

	creator, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { creator.Close(context.Background()) })
	created := make(chan error, 1)
	go func() {
		_, err := creator.Exec(context.Background(), `SELECT pg_create_logical_replication_slot('capture_building', 'pgoutput')`)
		created <- err
	}()
	t.Cleanup(func() {
		conn.Exec(context.Background(), `SELECT pg_drop_replication_slot('capture_building')`)
	})
	servicetest.WaitFor(t, 30*time.Second, "the slot to be listed while it waits for the open transaction", func() bool {
		waiting, err := pgtest.SlotCreationWaits(t.Context(), conn, "capture_building")
		if err != nil {
			t.Fatal(err)
		}
		return waiting
	})
	if err := outbox.CaptureReady(t.Context(), conn); !errors.Is(err, outbox.ErrNoCapture) {
		t.Fatalf("CaptureReady while the slot is being created = %v, want ErrNoCapture", err)
	}
	w := outbox.NewWriter(outbox.RequireCapture(true))
	if err := pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		return w.Append(t.Context(), tx, event("0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b12"))
	}); !errors.Is(err, outbox.ErrNoCapture) {
		t.Fatalf("Append while the slot is being created = %v, want ErrNoCapture", err)
	}

	release()
	select {
	case err := <-created:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the slot was not created once the transaction ended")
	}
	if err := outbox.CaptureReady(t.Context(), conn); err != nil {
		t.Fatalf("CaptureReady once the slot is created = %v", err)
	}
}
