package pgtest

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement; a pool, a connection and a transaction are all
// Execers.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Locked reports whether another transaction holds a row lock on a row
// that query (a SELECT without a locking clause) returns: it runs query
// FOR UPDATE NOWAIT through db, which must not be that transaction, and
// takes PostgreSQL's lock_not_available for a yes. Any other error fails
// the test. Rows it locks itself are released when db's transaction ends
// (at once, for a pool).
func Locked(t testing.TB, db Execer, query string, args ...any) bool {
	t.Helper()
	_, err := db.Exec(context.Background(), query+` FOR UPDATE NOWAIT`, args...)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "55P03" {
		return true
	}
	if err != nil {
		t.Fatalf("pgtest: is a row of %q locked: %v", query, err)
	}
	return false
}
