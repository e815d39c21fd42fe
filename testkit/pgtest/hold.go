package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// HoldTransactionID opens a transaction on dsn's cluster that holds a
// transaction id, and keeps it open until release is called (it commits)
// or the test ends (it rolls back). PostgreSQL creates a logical
// replication slot only once every transaction holding an id when the
// creation started has ended: tests use this to keep a slot being created.
func HoldTransactionID(t testing.TB, dsn string) (release func()) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("pgtest: hold a transaction: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatalf("pgtest: hold a transaction: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `SELECT pg_current_xact_id()`); err != nil {
		t.Fatalf("pgtest: hold a transaction: %v", err)
	}
	return func() {
		t.Helper()
		if err := tx.Commit(context.Background()); err != nil {
			t.Fatalf("pgtest: release the held transaction: %v", err)
		}
	}
}

// SlotCreationWaits reports whether the logical replication slot named
// slot is being created and its creation waits for a transaction to end
// (its backend waits on a transaction id).
func SlotCreationWaits(ctx context.Context, conn *pgx.Conn, slot string) (bool, error) {
	var waiting bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid
		WHERE s.slot_name = $1 AND a.wait_event = 'transactionid')`, slot).Scan(&waiting)
	return waiting, err
}
