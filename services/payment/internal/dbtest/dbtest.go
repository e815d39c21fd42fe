// Package dbtest gives the service's tests a fresh database with its
// migrations applied. Import it from _test.go files only; the package using
// it calls pgtest.Main from TestMain.
package dbtest

import (
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtest"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
)

// Pool creates a database for this test, migrates it and returns a pool on
// it; both go away when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	if _, err := pgdb.Migrate(t.Context(), dsn, migrations.FS, ".", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
