package consumer

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// A batch's transaction waits at most batchLockTimeout for a row lock, and
// the setting ends with it: the connection goes back to the pool as it was.
func TestBatchLockTimeoutIsTheTransactions(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // the same connection before and after
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tx, err := beginBatch(pool, false).Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var inside, after string
	if err := tx.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&inside); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if inside != batchLockTimeout || after != "0" {
		t.Fatalf("lock_timeout = %q in the batch, %q after it; want %q, \"0\"", inside, after, batchLockTimeout)
	}
}
