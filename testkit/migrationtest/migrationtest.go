package migrationtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// Database creates a database for this test, applies every migration the
// way a service does at start-up (pgdb.Migrate) and returns its DSN.
func Database(t testing.TB, migrations fs.FS) string {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	if _, err := pgdb.Migrate(t.Context(), dsn, migrations, ".", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	return dsn
}

// Pool is Database returning a pool on the database, closed when the test
// ends.
func Pool(t testing.TB, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	return open(t, Database(t, migrations))
}

// CountedPool is Pool whose connections count, in the Trips returned, what
// they send: single statements and pipelined batches.
func CountedPool(t testing.TB, migrations fs.FS) (*pgxpool.Pool, *Trips) {
	t.Helper()
	trips := &Trips{}
	return open(t, Database(t, migrations), func(c *pgxpool.Config) { c.ConnConfig.Tracer = trips }), trips
}

func open(t testing.TB, dsn string, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	for _, c := range configure {
		c(cfg)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Trips counts the statements and batches a pool's connections send (a
// pgx tracer). A statement's first use on a connection may take one more
// exchange to prepare it; that is not counted.
type Trips struct{ Queries, Batches atomic.Int64 }

func (r *Trips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.Queries.Add(1)
	return ctx
}

func (r *Trips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *Trips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.Batches.Add(1)
	return ctx
}

func (r *Trips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *Trips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// OneBatch runs fn, which sends what (a name for the message), and fails
// the test unless fn returned an error or the pool's connections sent
// exactly one pipelined batch and no single statement meanwhile. It
// returns fn's error.
func (r *Trips) OneBatch(t testing.TB, what string, fn func() error) error {
	t.Helper()
	queries, batches := r.Queries.Load(), r.Batches.Load()
	err := fn()
	if q, b := r.Queries.Load()-queries, r.Batches.Load()-batches; err == nil && (q != 0 || b != 1) {
		t.Errorf("%s sent %d statements and %d batches, want one batch", what, q, b)
	}
	return err
}

// Schema is what the migrations leave behind.
type Schema struct {
	// Tables are the tables of the public schema, schema_migrations
	// excluded, in any order.
	Tables []string
	// Publications maps each publication to its tables, in any order; an
	// empty publication maps to no tables.
	Publications map[string][]string
}

func (s Schema) normal() Schema {
	out := Schema{Tables: slices.Sorted(slices.Values(s.Tables)), Publications: map[string][]string{}}
	for p, ts := range s.Publications {
		out.Publications[p] = slices.Sorted(slices.Values(ts))
	}
	return out
}

func (s Schema) equal(o Schema) bool {
	a, b := s.normal(), o.normal()
	if !slices.Equal(a.Tables, b.Tables) || len(a.Publications) != len(b.Publications) {
		return false
	}
	for p, ts := range a.Publications {
		if other, ok := b.Publications[p]; !ok || !slices.Equal(ts, other) {
			return false
		}
	}
	return true
}

func (s Schema) String() string {
	n := s.normal()
	return fmt.Sprintf("tables %v, publications %v", n.Tables, n.Publications)
}

const (
	tablesQuery = `SELECT table_name::text FROM information_schema.tables
WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`
	// An empty publication is listed too, with a NULL table.
	publicationsQuery = `SELECT p.pubname::text, pt.tablename::text
FROM pg_publication p LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname`
)

// read returns the schema the database is in.
func read(ctx context.Context, pool *pgxpool.Pool) (Schema, error) {
	s := Schema{Publications: map[string][]string{}}
	rows, err := pool.Query(ctx, tablesQuery)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return s, err
		}
		s.Tables = append(s.Tables, name)
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	rows, err = pool.Query(ctx, publicationsQuery)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var pub string
		var table *string
		if err := rows.Scan(&pub, &table); err != nil {
			rows.Close()
			return s, err
		}
		tables := s.Publications[pub]
		if table != nil {
			tables = append(tables, *table)
		}
		s.Publications[pub] = tables
	}
	return s, rows.Err()
}

// UpDownUp applies the migrations (as a service does at start-up), checks
// the database holds want; rolls every migration back, checks nothing is
// left; applies them again and checks want once more.
func UpDownUp(t testing.TB, migrations fs.FS, want Schema) {
	t.Helper()
	dsn := Database(t, migrations)
	pool := open(t, dsn)
	check := func(step string, want Schema) {
		t.Helper()
		got, err := read(t.Context(), pool)
		if err != nil {
			t.Fatalf("migrationtest: %s: read schema: %v", step, err)
		}
		if !got.equal(want) {
			t.Fatalf("migrationtest: after %s: %v; want %v", step, got, want)
		}
	}
	check("up", want)

	src, err := iofs.New(migrations, ".")
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	defer m.Close()
	if err := m.Down(); err != nil {
		t.Fatalf("migrationtest: down: %v", err)
	}
	check("down", Schema{})
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		t.Fatalf("migrationtest: up again: %v", err)
	}
	check("up again", want)
}

// LibraryTablesMatch guards the copies of the outbox and inbox DDL in a
// service's migrations against drifting from the libraries that write and
// read those tables: the migrated tables must have the columns the DDL of
// libs/outbox and libs/inbox creates, in the same order.
func LibraryTablesMatch(t testing.TB, migrations fs.FS) {
	t.Helper()
	pool := Pool(t, migrations)
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA library`); err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	for _, ddl := range []string{outbox.Schema, inbox.Schema} {
		// One connection for the search_path and the DDL.
		if _, err := pool.Exec(t.Context(), "SET search_path = library; "+ddl+"; SET search_path = public"); err != nil {
			t.Fatalf("migrationtest: library DDL: %v", err)
		}
	}
	for _, table := range []string{"outbox", "inbox"} {
		got, want := columns(t, pool, "public", table), columns(t, pool, "library", table)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("migrationtest: %s columns differ from the library's DDL:\nmigration: %q\nlibrary:   %q", table, got, want)
		}
	}
}

const columnsQuery = `SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '')
  || ' ' || is_nullable || ' ' || coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`

func columns(t testing.TB, pool *pgxpool.Pool, schema, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), columnsQuery, schema, table)
	if err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("migrationtest: %v", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("migrationtest: %v", err)
	}
	return out
}
