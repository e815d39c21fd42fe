package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/connect"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// dbConfig returns the database.* connector keys for a pgtest DSN.
func dbConfig(t *testing.T, dsn string) map[string]string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	return map[string]string{
		"database.hostname": u.Hostname(),
		"database.port":     u.Port(),
		"database.user":     u.User.Username(),
		"database.password": pw,
		"database.dbname":   strings.TrimPrefix(u.Path, "/"),
		"database.sslmode":  "disable",
	}
}

func connectDB(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// startWorker runs the Connect worker in-process behind a real HTTP
// server and returns its base URL.
func startWorker(t *testing.T, brokers string, workerProps map[string]string) string {
	t.Helper()
	w, err := connect.New(t.Context(), connect.Config{
		Brokers:         []string{brokers},
		Worker:          workerProps,
		WorkerID:        "127.0.0.1:8083",
		Version:         "e2e",
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:         metrics.New(prometheus.NewRegistry()),
		ShutdownTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("close worker: %v", err)
		}
	})
	return srv.URL
}

// call does one HTTP request; out, when not nil, receives the JSON answer.
func call(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	// Not t.Context(): calls from t.Cleanup run after it is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, raw, err)
		}
	}
	if resp.StatusCode >= 400 && out == nil {
		t.Logf("%s %s: HTTP %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

type taskStatus struct {
	State string `json:"state"`
	Trace string `json:"trace"`
}

type connectorStatus struct {
	Connector taskStatus   `json:"connector"`
	Tasks     []taskStatus `json:"tasks"`
}

func status(t *testing.T, base, name string) connectorStatus {
	t.Helper()
	var s connectorStatus
	if code := call(t, "GET", base+"/connectors/"+name+"/status", nil, &s); code != 200 {
		t.Fatalf("status of %s: HTTP %d", name, code)
	}
	return s
}

// waitFor polls cond on a short ticker until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", within, what)
		case <-tick.C:
		}
	}
}

// waitStreaming waits until the connector's slot is being streamed, and
// fails early if the task failed.
func waitStreaming(t *testing.T, base, name string, db *pgx.Conn, slot string) {
	t.Helper()
	waitFor(t, 30*time.Second, "slot "+slot+" to be streamed", func() bool {
		s := status(t, base, name)
		if len(s.Tasks) == 1 && s.Tasks[0].State == "FAILED" {
			t.Fatalf("task failed: %s", s.Tasks[0].Trace)
		}
		var active bool
		err := db.QueryRow(t.Context(), `SELECT active AND confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		return err == nil && active
	})
}

func mustExec(t *testing.T, db *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func retainedWAL(t *testing.T, db *pgx.Conn, slot string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(t.Context(), `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// dropSlot drops a slot once its walsender has let go of it. It runs from
// t.Cleanup, so it does not use t.Context.
func dropSlot(t *testing.T, dsn, slot string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		defer c.Close(context.Background())
		err = replication.DropSlot(ctx, c, slot)
	}
	if err != nil {
		t.Errorf("drop slot %s: %v", slot, err)
	}
}

// outboxConfig is a connector config for the libs/outbox table with
// StringConverter keys and values; extra are key, value pairs.
func outboxConfig(t *testing.T, dsn, name string, extra ...string) map[string]string {
	t.Helper()
	c := map[string]string{
		"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
		"plugin.name":                 "pgoutput",
		"topic.prefix":                name,
		"slot.name":                   name,
		"publication.name":            name,
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.outbox`,
		"snapshot.mode":               "no_data",
		"extended.headers.enabled":    "false",
		"key.converter":               "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":             "org.apache.kafka.connect.storage.StringConverter",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
	}
	maps.Copy(c, dbConfig(t, dsn))
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = extra[i+1]
	}
	return c
}
