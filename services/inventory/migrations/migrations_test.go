package migrations_test

import (
	"errors"
	"log/slog"
	"net/url"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/libs/pgtest"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpDownUp applies the migrations, rolls them back and applies them
// again, checking what each step leaves behind.
func TestUpDownUp(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	state := func() (tables int, publication bool) {
		t.Helper()
		err := conn.QueryRow(t.Context(), `
SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('stock', 'reservations', 'outbox', 'inbox')),
       EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'outbox_publication' AND tablename = 'outbox')`).Scan(&tables, &publication)
		if err != nil {
			t.Fatal(err)
		}
		return tables, publication
	}

	log := slog.New(slog.DiscardHandler)
	if _, err := pgdb.Migrate(t.Context(), dsn, migrations.FS, ".", log); err != nil {
		t.Fatal(err)
	}
	if n, pub := state(); n != 4 || !pub {
		t.Fatalf("after up: %d tables, publication %v; want 4 and true", n, pub)
	}

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
	if err := m.Down(); err != nil {
		t.Fatal(err)
	}
	if n, pub := state(); n != 0 || pub {
		t.Fatalf("after down: %d tables, publication %v; want 0 and false", n, pub)
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		t.Fatal(err)
	}
	if n, pub := state(); n != 4 || !pub {
		t.Fatalf("after up again: %d tables, publication %v; want 4 and true", n, pub)
	}
}

// TestOutboxAndInboxMatchTheLibraries compares the migrated outbox and
// inbox tables, column by column, with the libraries' canonical DDL.
func TestOutboxAndInboxMatchTheLibraries(t *testing.T) {
	migrated, canonical := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if _, err := pgdb.Migrate(t.Context(), migrated, migrations.FS, ".", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), canonical)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, ddl := range []string{outbox.Schema, inbox.Schema} {
		if _, err := conn.Exec(t.Context(), ddl); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"outbox", "inbox"} {
		want, got := columns(t, canonical, table), columns(t, migrated, table)
		if want != got {
			t.Errorf("%s columns differ from the library's schema:\nmigration: %s\nlibrary:   %s", table, got, want)
		}
	}
}

func columns(t *testing.T, dsn, table string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var s string
	err = conn.QueryRow(t.Context(), `
SELECT string_agg(column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || ' ' || is_nullable || ' ' || coalesce(column_default, ''), ', ' ORDER BY ordinal_position)
FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, table).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
