package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
)

func start(t *testing.T, cfg pgcluster.Config) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, cfg)
	if errors.Is(err, pgcluster.ErrNoBinaries) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClusterSettingsAndCleanup(t *testing.T) {
	c := start(t, pgcluster.Config{})
	dir := c.Dir()
	conn, err := pgx.Connect(t.Context(), c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ setting, want string }{
		{"wal_level", "logical"},
		{"listen_addresses", "127.0.0.1"},
		{"max_replication_slots", "32"},
		{"max_wal_senders", "32"},
	} {
		var got string
		if err := conn.QueryRow(t.Context(), "SELECT current_setting($1)", tc.setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.setting, got, tc.want)
		}
	}
	conn.Close(t.Context())

	if err := c.CreateDatabase(t.Context(), "app", ""); err != nil {
		t.Fatal(err)
	}
	// A replication slot in the database must not block dropping it.
	app, err := pgx.Connect(t.Context(), c.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(t.Context(), "SELECT pg_create_logical_replication_slot('s1', 'pgoutput')"); err != nil {
		t.Fatal(err)
	}
	app.Close(t.Context())
	if err := c.DropDatabase(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary cluster dir %s still exists after Stop (stat err %v)", dir, err)
	}
}

func TestClusterInDirSurvivesRestart(t *testing.T) {
	dir := filepath.Join(os.TempDir(), "pgcluster-restart-"+time.Now().Format("150405.000000000"))
	t.Cleanup(func() { os.RemoveAll(dir) })

	c := start(t, pgcluster.Config{Dir: dir, Durable: true})
	if err := c.CreateDatabase(t.Context(), "kept", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("cluster in a given dir was removed on Stop: %v", err)
	}

	c = start(t, pgcluster.Config{Dir: dir, Durable: true})
	defer c.Stop()
	conn, err := pgx.Connect(t.Context(), c.DSN("kept"))
	if err != nil {
		t.Fatalf("database did not survive a restart: %v", err)
	}
	conn.Close(t.Context())
}
