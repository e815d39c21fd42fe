package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// HeapOnlyUpdates runs change in tx and returns how many rows of table it
// updated, and how many of those updates were heap-only (HOT: the new row
// version on the same page, no index entry written). It reads the
// backend's own counts before and after, in tx, so other sessions' work
// does not count. An error from change or the counts fails the test.
func HeapOnlyUpdates(t testing.TB, tx pgx.Tx, table string, change func() error) (updated, heapOnly int) {
	t.Helper()
	// The counts include this transaction's and those of earlier ones the
	// backend has not reported yet: the difference is change's.
	counts := func() (u, h int) {
		t.Helper()
		if err := tx.QueryRow(context.Background(), `SELECT pg_stat_get_xact_tuples_updated($1::regclass),
  pg_stat_get_xact_tuples_hot_updated($1::regclass)`, table).Scan(&u, &h); err != nil {
			t.Fatalf("pgtest: update counts of %s: %v", table, err)
		}
		return u, h
	}
	u0, h0 := counts()
	if err := change(); err != nil {
		t.Fatalf("pgtest: change of %s: %v", table, err)
	}
	u1, h1 := counts()
	return u1 - u0, h1 - h0
}
