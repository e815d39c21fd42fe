package migrations_test

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtest"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ownTables = []string{"idempotency_keys", "inbox", "order_history", "order_items", "orders", "outbox"}

func tables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables
WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func publications(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_publication_tables
WHERE pubname = 'outbox_publication' AND tablename = 'outbox'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpDownUp(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pool := newPool(t, dsn)
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if err := m.Up(); err != nil {
		t.Fatalf("up: %v", err)
	}
	if got := tables(t, pool); !slices.Equal(got, ownTables) || publications(t, pool) != 1 {
		t.Fatalf("after up: tables %v, publication %d", got, publications(t, pool))
	}
	if err := m.Down(); err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := tables(t, pool); len(got) != 0 || publications(t, pool) != 0 {
		t.Fatalf("after down: tables %v, publication %d", got, publications(t, pool))
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if got := tables(t, pool); !slices.Equal(got, ownTables) {
		t.Fatalf("after up again: %v", got)
	}
}

func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestLibraryTablesMatch guards the copies of the outbox and inbox DDL in
// the init migration against drifting from the libraries that write them.
func TestLibraryTablesMatch(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	if _, err := pgdb.Migrate(t.Context(), dsn, migrations.FS, ".", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, dsn)
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA ref`); err != nil {
		t.Fatal(err)
	}
	for _, ddl := range []string{outbox.Schema, inbox.Schema} {
		if _, err := pool.Exec(t.Context(), "SET search_path = ref; "+ddl+"; SET search_path = public"); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"outbox", "inbox"} {
		got, want := columns(t.Context(), t, pool, "public", table), columns(t.Context(), t, pool, "ref", table)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s columns differ from the library's DDL:\n got %v\nwant %v", table, got, want)
		}
	}
}

func columns(ctx context.Context, t *testing.T, pool *pgxpool.Pool, schema, table string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')
  || ' ' || is_nullable || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
