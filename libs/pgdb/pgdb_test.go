package pgdb_test

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

//go:embed testdata/migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { pgtest.Main(m) }

var log = slog.New(slog.DiscardHandler)

func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatal(err)
	}
}

func TestMigrate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare string // SQL run after a first successful migration
		wantErr error
		wantV   uint
	}{
		{name: "fresh database is migrated, then a re-run is a no-op", wantV: 2},
		{name: "dirty schema refuses", prepare: `UPDATE schema_migrations SET dirty = true`, wantErr: pgdb.ErrDirty},
		{name: "newer schema refuses", prepare: `UPDATE schema_migrations SET version = 3`, wantErr: pgdb.ErrSchemaTooNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			v, err := pgdb.Migrate(t.Context(), dsn, migrations, "testdata/migrations", log)
			if err != nil || v != 2 {
				t.Fatalf("first migrate: v=%d err=%v", v, err)
			}
			exec(t, dsn, `INSERT INTO widgets (id, name) VALUES (1, 'a')`)
			if tc.prepare != "" {
				exec(t, dsn, tc.prepare)
			}
			v, err = pgdb.Migrate(t.Context(), dsn, migrations, "testdata/migrations", log)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("second migrate err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && v != tc.wantV {
				t.Fatalf("version = %d, want %d", v, tc.wantV)
			}
		})
	}
}

// withParam adds the query parameter param (name=value) to the URL dsn.
func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}

func TestOpenWaitsThenFails(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), dsn, 5*time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	// Nothing listens on port 1: Open gives up after the wait with a clear error.
	_, err = pgdb.Open(t.Context(), "postgres://x:y@127.0.0.1:1/nope?sslmode=disable&connect_timeout=1", 600*time.Millisecond, log)
	if err == nil {
		t.Fatal("Open of an unreachable database succeeded")
	}
}

// A service's connections find rows through the index even when their
// cached plan was made while the table was empty; the DSN can say
// otherwise.
func TestLookupsUseTheIndex(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)`)
	// As a service looks up the lines of some orders: by an array of keys,
	// in key order.
	const byKeys = `SELECT name FROM items WHERE id = ANY($1) ORDER BY id`
	tests := []struct {
		name    string
		dsn     string
		setting string
		seqScan bool // whether lookups by key may scan the table
	}{
		{"by default", dsn, "off", false},
		{"the DSN turns them on", withParam(dsn, "enable_seqscan=on"), "on", true},
		{"options turn them on", withParam(dsn, "options=-c%20enable_seqscan%3Don"), "on", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A table analysed while small: its plans are scans.
			exec(t, dsn, `TRUNCATE items; INSERT INTO items SELECT i, 'item' FROM generate_series(1, 100) i`)
			exec(t, dsn, `ANALYZE items`)
			pool, err := pgdb.OpenSized(t.Context(), tc.dsn, 1, 5*time.Second, log)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			var setting string
			if err := pool.QueryRow(t.Context(), "SHOW enable_seqscan").Scan(&setting); err != nil {
				t.Fatal(err)
			}
			if setting != tc.setting {
				t.Fatalf("enable_seqscan = %s, want %s", setting, tc.setting)
			}
			// Plans made from those statistics, then many more rows: the
			// cached plan is what the lookups use.
			err = pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
				lookup := func(id int) error {
					_, err := tx.Exec(t.Context(), byKeys, []int32{int32(id)})
					return err
				}
				for i := range 8 {
					if err := lookup(i); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(t.Context(), `INSERT INTO items SELECT i, 'item' FROM generate_series(101, 20000) i`); err != nil {
					return err
				}
				var before, after int64
				scans := `SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables WHERE relname = 'items'`
				if err := tx.QueryRow(t.Context(), scans).Scan(&before); err != nil {
					return err
				}
				for i := range 8 {
					if err := lookup(i); err != nil {
						return err
					}
				}
				if err := tx.QueryRow(t.Context(), scans).Scan(&after); err != nil {
					return err
				}
				if got := after > before; got != tc.seqScan {
					t.Errorf("lookups scanned the table %d times, want scans: %v", after-before, tc.seqScan)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A service's connections plan a lookup by an array of keys once, where
// PostgreSQL's default plans it anew at every execution; the DSN can say
// otherwise.
func TestLookupsArePlannedOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT i, 'item' FROM generate_series(1, 1000) i; ANALYZE items`)
	const byKeys = `SELECT name FROM items WHERE id = ANY($1) ORDER BY id`
	tests := []struct {
		name    string
		dsn     string
		setting string
		custom  bool // whether executions after the first are planned again
	}{
		{"by default", dsn, "force_generic_plan", false},
		{"the DSN sets PostgreSQL's default", withParam(dsn, "plan_cache_mode=auto"), "auto", true},
		{"options set PostgreSQL's default", withParam(dsn, "options=-c%20plan_cache_mode%3Dauto"), "auto", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := pgdb.OpenSized(t.Context(), tc.dsn, 1, 5*time.Second, log)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			conn, err := pool.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			var setting string
			if err := conn.QueryRow(t.Context(), "SHOW plan_cache_mode").Scan(&setting); err != nil {
				t.Fatal(err)
			}
			if setting != tc.setting {
				t.Fatalf("plan_cache_mode = %s, want %s", setting, tc.setting)
			}
			const executions = 10
			for i := range executions {
				if _, err := conn.Exec(t.Context(), byKeys, []int32{int32(i + 1)}); err != nil {
					t.Fatal(err)
				}
			}
			// pgx prepares the statement on the connection; PostgreSQL
			// counts the plans it made for it.
			var generic, custom int64
			err = conn.QueryRow(t.Context(), `SELECT generic_plans, custom_plans FROM pg_prepared_statements
WHERE statement = $1 AND NOT from_sql`, byKeys).Scan(&generic, &custom)
			if err != nil {
				t.Fatalf("the lookup's prepared statement: %v", err)
			}
			if generic+custom != executions {
				t.Fatalf("%d generic and %d custom plans for %d executions", generic, custom, executions)
			}
			// PostgreSQL's default plans the first five executions for
			// their keys, then keeps doing so when the generic plan looks
			// costlier, as it does for an array of keys.
			if got := custom > 5; got != tc.custom {
				t.Errorf("%d of %d executions planned for their keys, want every one after the fifth: %v", custom, executions, tc.custom)
			}
			if !tc.custom && custom != 0 {
				t.Errorf("%d executions planned for their keys, want none", custom)
			}
		})
	}
}
