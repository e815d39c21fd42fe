package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// LocalDSNFor goes through the server's Unix-domain socket where the
// cluster's directory leaves room for the socket's path, and over TCP where
// it does not.
func TestLocalDSN(t *testing.T) {
	tests := []struct {
		name       string
		dir        func(t *testing.T) string // "" for a temporary cluster
		wantSocket bool
	}{
		{"temporary directory", func(*testing.T) string { return "" }, true},
		{"directory with a space in its name", func(t *testing.T) string {
			dir := filepath.Join(os.TempDir(), "pgcluster socket "+time.Now().Format("150405.000000000"))
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}, true},
		{"directory too deep for a socket path", func(t *testing.T) string {
			// Under the temporary directory itself, which the server's OS
			// user may enter.
			dir := filepath.Join(os.TempDir(), "pgcluster-deep-"+strings.Repeat("d", 100)+time.Now().Format("150405.000000000"))
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, pgcluster.Config{Dir: tt.dir(t)})
			t.Cleanup(func() { c.Stop() })
			if got := c.SocketDir() != ""; got != tt.wantSocket {
				t.Fatalf("SocketDir() = %q, want a socket: %v", c.SocketDir(), tt.wantSocket)
			}
			conn, err := pgx.Connect(t.Context(), c.LocalDSNFor("postgres", "postgres", "postgres"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			// inet_server_addr is NULL on a Unix-domain socket connection.
			var socket bool
			if err := conn.QueryRow(t.Context(), "SELECT inet_server_addr() IS NULL").Scan(&socket); err != nil {
				t.Fatal(err)
			}
			if socket != tt.wantSocket {
				t.Errorf("connected through the socket: %v, want %v (DSN %s)", socket, tt.wantSocket, c.LocalDSNFor("postgres", "postgres", "postgres"))
			}
		})
	}
}
