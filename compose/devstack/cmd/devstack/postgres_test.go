package main

import (
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
)

// The embedded stack's cluster runs with compose's PostgreSQL settings and
// access rules.
func TestPostgresMatchesCompose(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose", "compose.yaml")},
		cli.WithWorkingDirectory(filepath.Join(root, "compose")), cli.WithEnv([]string{}), cli.WithInterpolation(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := p.Services["postgres"]
	if !ok {
		t.Fatal("compose.yaml has no postgres service")
	}
	settings := map[string]string{}
	for i, arg := range svc.Command {
		if arg == "-c" && i+1 < len(svc.Command) {
			k, v, _ := strings.Cut(svc.Command[i+1], "=")
			settings[k] = v
		}
	}
	hbaFile := settings["hba_file"]
	delete(settings, "hba_file")
	if !maps.Equal(settings, postgresSettings) {
		t.Errorf("compose's postgres settings %v, the embedded stack's %v", settings, postgresSettings)
	}
	mounted := false
	for _, v := range svc.Volumes {
		if v.Target == hbaFile && filepath.Clean(v.Source) == filepath.Join(root, "compose", "postgres", "pg_hba.conf") {
			mounted = true
		}
	}
	if hbaFile == "" || !mounted {
		t.Errorf("compose's postgres does not run with compose/postgres/pg_hba.conf (hba_file=%q, volumes %v)", hbaFile, svc.Volumes)
	}
}

// What the cdc role may and may not do on the embedded stack's cluster,
// started as make dev starts it.
func TestCDCRoleIsConfined(t *testing.T) {
	port := devstacktest.FreePorts(t, 1)[0]
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"DEV_DIR": devstacktest.StateDir(t), "PG_PORT": fmt.Sprint(port)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := startPostgres(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })

	dsn := func(user, password, db, extra string) string {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable%s", user, password, port, db, extra)
	}
	tests := []struct {
		name, dsn string
		refused   string // "" when the connection must succeed
	}{
		{"logical replication of a service database", dsn("cdc", cfg.cdcPassword, "orders", "&replication=database"), ""},
		{"plain connection to a service database", dsn("cdc", cfg.cdcPassword, "inventory", ""), ""},
		{"physical replication (a base backup of the cluster)", dsn("cdc", cfg.cdcPassword, "orders", "&replication=true"), "no pg_hba.conf entry for replication connection"},
		{"the postgres database", dsn("cdc", cfg.cdcPassword, "postgres", ""), "no pg_hba.conf entry"},
		{"logical replication of the postgres database", dsn("cdc", cfg.cdcPassword, "postgres", "&replication=database"), "no pg_hba.conf entry"},
		{"a service role outside its database", dsn("order_service", cfg.orderPassword, "payments", ""), "no pg_hba.conf entry"},
		{"a service role in its database", dsn("payment_service", cfg.paymentPassword, "payments", ""), ""},
		// The Unix-domain socket, where the stack's services connect.
		{"a service role in its database through the socket", pg.LocalDSNFor("order_service", cfg.orderPassword, "orders"), ""},
		{"a service role with a wrong password through the socket", pg.LocalDSNFor("order_service", "wrong", "orders"), "password authentication failed"},
		{"a service role outside its database through the socket", pg.LocalDSNFor("inventory_service", cfg.invPasswd, "orders"), "no pg_hba.conf entry"},
		{"cdc through the socket", pg.LocalDSNFor("cdc", cfg.cdcPassword, "orders"), "no pg_hba.conf entry"},
	}
	if pg.SocketDir() == "" {
		t.Fatalf("the cluster in %s listens on no Unix-domain socket", pg.Dir())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := pgconn.Connect(t.Context(), tt.dsn)
			if err == nil {
				conn.Close(t.Context())
			}
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused != "" && err == nil:
				t.Fatal("allowed")
			case tt.refused != "" && !strings.Contains(err.Error(), tt.refused):
				t.Fatalf("refused with %v, want %q", err, tt.refused)
			}
		})
	}

	conn, err := pgx.Connect(t.Context(), pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for name, want := range postgresSettings {
		var got string
		if err := conn.QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}
