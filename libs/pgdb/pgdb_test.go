package pgdb_test

import (
	"context"
	"embed"
	"errors"
	"log/slog"
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
