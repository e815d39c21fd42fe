package connect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/connect"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	t       *testing.T
	brokers string
	dsn     string
	db      *pgx.Conn
	url     string
	worker  *connect.Worker
	srv     *httptest.Server
	metrics *metrics.Metrics
	// configTopic is the worker's config topic ("" for the default).
	configTopic string
	// allowedHosts is the worker's AllowedHosts.
	allowedHosts []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, brokers: kafkatest.Start(t), dsn: pgtest.NewDatabase(t)}
	db, err := pgx.Connect(t.Context(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(context.Background()) })
	if _, err := db.Exec(t.Context(), outbox.Schema); err != nil {
		t.Fatal(err)
	}
	f.db = db
	f.startWorker(nil, nil)
	return f
}

// startWorker starts (or restarts) the worker on the same broker.
func (f *fixture) startWorker(props map[string]string, env map[string]string) {
	f.t.Helper()
	f.metrics = metrics.New(prometheus.NewRegistry())
	w, err := connect.New(f.t.Context(), connect.Config{
		Brokers:     []string{f.brokers},
		ConfigTopic: f.configTopic,
		Worker:      props,
		WorkerID:    "127.0.0.1:8083",
		Version:     "test",
		Commit:      "abc",
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:         f.metrics,
		ShutdownTimeout: 10 * time.Second,
		AllowedHosts:    f.allowedHosts,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	f.worker, f.srv, f.url = w, srv, srv.URL
	f.t.Cleanup(func() { f.stopWorker() })
}

func (f *fixture) stopWorker() {
	if f.worker == nil {
		return
	}
	f.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.worker.Close(ctx); err != nil {
		f.t.Errorf("close worker: %v", err)
	}
	f.worker = nil
}

func (f *fixture) config(name string, extra ...string) map[string]string {
	u, err := url.Parse(f.dsn)
	if err != nil {
		f.t.Fatal(err)
	}
	pw, _ := u.User.Password()
	c := map[string]string{
		"connector.class":             sourcetask.ConnectorClass,
		"tasks.max":                   "1",
		"database.hostname":           u.Hostname(),
		"database.port":               u.Port(),
		"database.user":               u.User.Username(),
		"database.password":           pw,
		"database.dbname":             strings.TrimPrefix(u.Path, "/"),
		"database.sslmode":            "disable",
		"plugin.name":                 "pgoutput",
		"topic.prefix":                name,
		"slot.name":                   strings.ReplaceAll(name, "-", "_"),
		"publication.name":            strings.ReplaceAll(name, "-", "_"),
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.outbox`,
		"snapshot.mode":               "no_data",
		"extended.headers.enabled":    "false",
		"key.converter":               "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":             "org.apache.kafka.connect.storage.StringConverter",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
	}
	for i := 0; i < len(extra); i += 2 {
		if extra[i+1] == "<delete>" {
			delete(c, extra[i])
			continue
		}
		c[extra[i]] = extra[i+1]
	}
	return c
}

// call does one HTTP request and decodes a JSON answer into out (if not nil).
func (f *fixture) call(method, path string, body any, out any) int {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.url+path, r)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			f.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

type status struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"connector"`
	Tasks []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"tasks"`
	Type string `json:"type"`
}

func (f *fixture) status(name string) status {
	f.t.Helper()
	var s status
	if code := f.call("GET", "/connectors/"+name+"/status", nil, &s); code != 200 {
		f.t.Fatalf("status %s: HTTP %d", name, code)
	}
	return s
}

func (f *fixture) waitTask(name, state string) status {
	f.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		s := f.status(name)
		if len(s.Tasks) == 1 && s.Tasks[0].State == state {
			return s
		}
		select {
		case <-deadline.C:
			f.t.Fatalf("task of %s never %s: %+v", name, state, s)
		case <-tick.C:
		}
	}
}

func (f *fixture) waitSlotActive(slot string, active bool) {
	f.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		var got bool
		err := f.db.QueryRow(f.t.Context(), `SELECT active AND confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&got)
		if err == nil && got == active {
			return
		}
		select {
		case <-deadline.C:
			f.t.Fatalf("slot %s active=%v never reached (last %v, %v)", slot, active, got, err)
		case <-tick.C:
		}
	}
}

type errBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)

	var root map[string]string
	if code := f.call("GET", "/", nil, &root); code != 200 || root["version"] != "test" || root["commit"] != "abc" || root["kafka_cluster_id"] != "outboxcdc-dev" {
		t.Fatalf("GET / = %d %v", code, root)
	}
	var names []string
	if code := f.call("GET", "/connectors", nil, &names); code != 200 || names == nil || len(names) != 0 {
		t.Fatalf("GET /connectors = %d %v, want []", code, names)
	}

	cfg := f.config("orders")
	var info struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		Tasks  []struct {
			Connector string `json:"connector"`
			Task      int    `json:"task"`
		} `json:"tasks"`
		Type string `json:"type"`
	}
	if code := f.call("PUT", "/connectors/orders/config", cfg, &info); code != 201 {
		t.Fatalf("PUT new config: HTTP %d", code)
	}
	if info.Name != "orders" || info.Config["name"] != "orders" || info.Type != "source" || len(info.Tasks) != 1 || info.Tasks[0].Connector != "orders" {
		t.Fatalf("PUT body %+v", info)
	}
	s := f.waitTask("orders", "RUNNING")
	if s.Connector.State != "RUNNING" || s.Connector.WorkerID != "127.0.0.1:8083" || s.Type != "source" || s.Tasks[0].WorkerID != "127.0.0.1:8083" {
		t.Fatalf("status %+v", s)
	}
	f.waitSlotActive("orders", true)

	// Same PUT again: 200, connector reconfigured.
	cfg["heartbeat.interval.ms"] = "60000"
	if code := f.call("PUT", "/connectors/orders/config", cfg, &info); code != 200 || info.Config["heartbeat.interval.ms"] != "60000" {
		t.Fatalf("PUT update: HTTP %d %+v", code, info.Config)
	}
	f.waitTask("orders", "RUNNING")

	var got map[string]string
	if code := f.call("GET", "/connectors/orders/config", nil, &got); code != 200 || got["slot.name"] != "orders" {
		t.Fatalf("GET config = %d %v", code, got)
	}
	if code := f.call("GET", "/connectors/orders", nil, &info); code != 200 || info.Name != "orders" {
		t.Fatalf("GET connector = %d", code)
	}
	var tasks []struct {
		ID struct {
			Connector string `json:"connector"`
			Task      int    `json:"task"`
		} `json:"id"`
		Config map[string]string `json:"config"`
	}
	if code := f.call("GET", "/connectors/orders/tasks", nil, &tasks); code != 200 || len(tasks) != 1 || tasks[0].Config["task.class"] == "" {
		t.Fatalf("GET tasks = %d %+v", code, tasks)
	}
	var expanded map[string]struct {
		Status *status          `json:"status"`
		Info   *json.RawMessage `json:"info"`
	}
	if code := f.call("GET", "/connectors?expand=status&expand=info", nil, &expanded); code != 200 ||
		expanded["orders"].Status == nil || expanded["orders"].Status.Tasks[0].State != "RUNNING" || expanded["orders"].Info == nil {
		t.Fatalf("GET expand = %d %+v", code, expanded)
	}

	// Pause, resume, stop.
	if code := f.call("PUT", "/connectors/orders/pause", nil, nil); code != 202 {
		t.Fatalf("pause: HTTP %d", code)
	}
	if s := f.status("orders"); s.Connector.State != "PAUSED" || s.Tasks[0].State != "PAUSED" {
		t.Fatalf("paused status %+v", s)
	}
	f.waitSlotActive("orders", false)
	if code := f.call("PUT", "/connectors/orders/resume", nil, nil); code != 202 {
		t.Fatalf("resume: HTTP %d", code)
	}
	f.waitTask("orders", "RUNNING")
	if code := f.call("PUT", "/connectors/orders/stop", nil, nil); code != 204 {
		t.Fatalf("stop: HTTP %d", code)
	}
	if s := f.status("orders"); s.Connector.State != "STOPPED" || len(s.Tasks) != 0 {
		t.Fatalf("stopped status %+v", s)
	}
	if code := f.call("PUT", "/connectors/orders/resume", nil, nil); code != 202 {
		t.Fatalf("resume after stop: HTTP %d", code)
	}
	f.waitTask("orders", "RUNNING")

	// Task restart.
	if code := f.call("POST", "/connectors/orders/tasks/0/restart", nil, nil); code != 204 {
		t.Fatalf("task restart: HTTP %d", code)
	}
	f.waitTask("orders", "RUNNING")
	var eb errBody
	if code := f.call("POST", "/connectors/orders/tasks/1/restart", nil, &eb); code != 404 || eb.ErrorCode != 404 {
		t.Fatalf("restart of task 1: HTTP %d %+v", code, eb)
	}

	// DELETE stops the connector and keeps its slot.
	if code := f.call("DELETE", "/connectors/orders", nil, nil); code != 204 {
		t.Fatalf("DELETE: HTTP %d", code)
	}
	if code := f.call("GET", "/connectors/orders", nil, &eb); code != 404 || eb.Message != "Connector orders not found" {
		t.Fatalf("GET after DELETE: HTTP %d %+v", code, eb)
	}
	f.waitSlotActive("orders", false)
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	if code := f.call("PUT", "/connectors/a/config", f.config("a"), nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	tests := []struct {
		name, method, path string
		body               any
		code               int
		msg                string
	}{
		{"unknown connector", "GET", "/connectors/nope/status", nil, 404, "Connector nope not found"},
		{"unknown connector delete", "DELETE", "/connectors/nope", nil, 404, "Connector nope not found"},
		{"unknown path", "GET", "/nothing/here", nil, 404, "HTTP 404 Not Found"},
		{"duplicate POST", "POST", "/connectors", map[string]any{"name": "a", "config": f.config("a")}, 409, "Connector a already exists"},
		{"name mismatch", "PUT", "/connectors/b/config", f.config("b", "name", "c"), 400,
			"Connector name configuration (c) doesn't match connector name in the URL (b)"},
		{"no class", "PUT", "/connectors/b/config", f.config("b", "connector.class", "<delete>"), 400, "contains no connector type"},
		{"unknown class", "PUT", "/connectors/b/config", f.config("b", "connector.class", "com.example.Nope"), 400,
			"Failed to find any class that implements Connector and which name matches com.example.Nope"},
		{"unknown key", "PUT", "/connectors/b/config", f.config("b", "column.exclude.list", "x"), 400,
			"Connector configuration is invalid and contains the following 1 error(s):\nThe 'column.exclude.list' value is invalid: walrelay does not implement this option"},
		{"bad value", "PUT", "/connectors/b/config", f.config("b", "snapshot.mode", "never"), 400, "The 'snapshot.mode' value is invalid"},
		{"unreachable database", "PUT", "/connectors/b/config", f.config("b", "database.port", strconv.Itoa(deadPort)), 400,
			"The 'database.hostname' value is invalid: Error while validating connector config:"},
		{"bad JSON", "PUT", "/connectors/b/config", "not an object", 400, "Cannot deserialize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			code := f.call(tt.method, tt.path, tt.body, &eb)
			if code != tt.code || eb.ErrorCode != tt.code || !strings.Contains(eb.Message, tt.msg) {
				t.Fatalf("HTTP %d %+v; want %d with %q", code, eb, tt.code, tt.msg)
			}
		})
	}
	var names []string
	f.call("GET", "/connectors", nil, &names)
	if len(names) != 1 {
		t.Fatalf("rejected configs were registered: %v", names)
	}
}

func TestValidateEndpoint(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Name       string   `json:"name"`
		ErrorCount int      `json:"error_count"`
		Groups     []string `json:"groups"`
		Configs    []struct {
			Definition struct {
				Name string `json:"name"`
			} `json:"definition"`
			Value struct {
				Name   string   `json:"name"`
				Value  *string  `json:"value"`
				Errors []string `json:"errors"`
			} `json:"value"`
		} `json:"configs"`
	}
	var ok body
	if code := f.call("PUT", "/connector-plugins/"+sourcetask.ConnectorClass+"/config/validate", f.config("v"), &ok); code != 200 || ok.ErrorCount != 0 || ok.Name != sourcetask.ConnectorClass || len(ok.Configs) == 0 {
		t.Fatalf("valid config: HTTP %d %+v", code, ok)
	}
	for _, c := range ok.Configs {
		if c.Definition.Name == "database.password" && (c.Value.Value == nil || *c.Value.Value != "[hidden]") {
			t.Fatalf("password not hidden: %v", c.Value.Value)
		}
	}
	var bad body
	code := f.call("PUT", "/connector-plugins/PostgresConnector/config/validate", f.config("v", "slot.name", "Bad-Name", "bogus.key", "1"), &bad)
	if code != 200 || bad.ErrorCount != 2 {
		t.Fatalf("invalid config: HTTP %d %+v", code, bad)
	}
	errsByKey := map[string][]string{}
	for _, c := range bad.Configs {
		errsByKey[c.Value.Name] = c.Value.Errors
	}
	if len(errsByKey["slot.name"]) != 1 || len(errsByKey["bogus.key"]) != 1 || len(errsByKey["database.hostname"]) != 0 {
		t.Fatalf("errors by key: %v", errsByKey)
	}
	var eb errBody
	if code := f.call("PUT", "/connector-plugins/com.example.Other/config/validate", map[string]string{"connector.class": sourcetask.ConnectorClass}, &eb); code != 400 || !strings.Contains(eb.Message, "does not match request type") {
		t.Fatalf("class mismatch: HTTP %d %+v", code, eb)
	}
	var plugins []map[string]string
	if code := f.call("GET", "/connector-plugins", nil, &plugins); code != 200 || len(plugins) != 1 || plugins[0]["class"] != sourcetask.ConnectorClass || plugins[0]["type"] != "source" {
		t.Fatalf("plugins: HTTP %d %v", code, plugins)
	}
	if code := f.call("GET", "/connector-plugins?connectorsOnly=false", nil, &plugins); code != 200 || len(plugins) < 3 {
		t.Fatalf("all plugins: HTTP %d %v", code, plugins)
	}
}

// TestConfigsSurviveRestart registers connectors, changes their target
// states, restarts the worker on the same broker and finds them as left.
func TestConfigsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"keep", "paused", "gone"} {
		if code := f.call("PUT", "/connectors/"+n+"/config", f.config(n), nil); code != 201 {
			t.Fatalf("create %s: HTTP %d", n, code)
		}
	}
	f.waitTask("keep", "RUNNING")
	f.waitSlotActive("keep", true)
	if code := f.call("PUT", "/connectors/paused/pause", nil, nil); code != 202 {
		t.Fatal("pause")
	}
	if code := f.call("DELETE", "/connectors/gone", nil, nil); code != 204 {
		t.Fatal("delete")
	}
	f.stopWorker()
	f.waitSlotActive("keep", false)

	f.startWorker(nil, nil)
	var names []string
	f.call("GET", "/connectors", nil, &names)
	if strings.Join(names, ",") != "keep,paused" {
		t.Fatalf("connectors after restart: %v", names)
	}
	f.waitTask("keep", "RUNNING")
	f.waitSlotActive("keep", true)
	if s := f.status("paused"); s.Connector.State != "PAUSED" {
		t.Fatalf("paused connector after restart: %+v", s)
	}
	var cfg map[string]string
	f.call("GET", "/connectors/keep/config", nil, &cfg)
	if cfg["slot.name"] != "keep" || cfg["name"] != "keep" {
		t.Fatalf("config after restart: %v", cfg)
	}
}

// TestRestartFailedTask: a plain restart leaves a FAILED task FAILED, as
// in Kafka Connect; includeTasks&onlyFailed restarts it.
func TestRestartFailedTask(t *testing.T) {
	f := newFixture(t)
	if code := f.call("PUT", "/connectors/f/config", f.config("f", "publication.autocreate.mode", "disabled"), nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	s := f.waitTask("f", "FAILED")
	if !strings.Contains(s.Tasks[0].Trace, `publication "f" does not exist`) {
		t.Fatalf("trace %q", s.Tasks[0].Trace)
	}
	if _, err := f.db.Exec(t.Context(), `CREATE PUBLICATION f FOR TABLE outbox`); err != nil {
		t.Fatal(err)
	}
	if code := f.call("POST", "/connectors/f/restart", nil, nil); code != 204 {
		t.Fatalf("plain restart: HTTP %d", code)
	}
	if s := f.status("f"); s.Tasks[0].State != "FAILED" {
		t.Fatalf("plain restart restarted the task: %+v", s)
	}
	var plan status
	if code := f.call("POST", "/connectors/f/restart?includeTasks=true&onlyFailed=true", nil, &plan); code != 202 {
		t.Fatalf("restart failed tasks: HTTP %d", code)
	}
	if plan.Connector.State != "RUNNING" || len(plan.Tasks) != 1 || plan.Tasks[0].State != "RESTARTING" {
		t.Fatalf("restart plan %+v", plan)
	}
	f.waitTask("f", "RUNNING")
}

// TestConfigProviderReferences: ${env:...} resolves for the task, and the
// stored config keeps the reference.
func TestConfigProviderReferences(t *testing.T) {
	f := newFixture(t)
	f.stopWorker()
	cfg := f.config("env")
	env := map[string]string{"TEST_DB_PASSWORD": cfg["database.password"]}
	f.startWorker(map[string]string{
		"config.providers":           "env",
		"config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
	}, env)
	cfg["database.password"] = "${env:TEST_DB_PASSWORD}"
	if code := f.call("PUT", "/connectors/env/config", cfg, nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	f.waitTask("env", "RUNNING")
	var got map[string]string
	f.call("GET", "/connectors/env/config", nil, &got)
	if got["database.password"] != "${env:TEST_DB_PASSWORD}" {
		t.Fatalf("stored password %q, want the reference", got["database.password"])
	}
	cfg["database.password"] = "${env:MISSING}"
	var eb errBody
	if code := f.call("PUT", "/connectors/env/config", cfg, &eb); code != 400 || !strings.Contains(eb.Message, "MISSING") {
		t.Fatalf("unresolvable reference: HTTP %d %+v", code, eb)
	}
}

// TestAllowedHosts: with an allow-list, a config that resolves a secret
// may only send it to a listed database host; one without references is
// not restricted.
func TestAllowedHosts(t *testing.T) {
	f := newFixture(t)
	f.stopWorker()
	cfg := f.config("allowed")
	env := map[string]string{"TEST_DB_PASSWORD": cfg["database.password"]}
	props := map[string]string{
		"config.providers":           "env",
		"config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
	}
	withRef := maps.Clone(cfg)
	withRef["database.password"] = "${env:TEST_DB_PASSWORD}"

	f.allowedHosts = []string{"db.internal"}
	f.startWorker(props, env)
	var eb errBody
	if code := f.call("PUT", "/connectors/allowed/config", withRef, &eb); code != 400 ||
		!strings.Contains(eb.Message, "database.hostname") || !strings.Contains(eb.Message, "db.internal") {
		t.Fatalf("a secret for an unlisted host: HTTP %d %+v", code, eb)
	}
	if code := f.call("PUT", "/connectors/plain/config", f.config("plain"), nil); code != 201 {
		t.Fatalf("a config without references: HTTP %d, want 201", code)
	}

	f.stopWorker()
	f.allowedHosts = []string{cfg["database.hostname"]}
	f.startWorker(props, env)
	if code := f.call("PUT", "/connectors/allowed/config", withRef, nil); code != 201 {
		t.Fatalf("a secret for a listed host: HTTP %d, want 201", code)
	}
	f.waitTask("allowed", "RUNNING")
}

// TestSnapshotNoteSurvivesRestart: the note a task keeps while reading an
// initial snapshot is replayed from the config topic, and DELETE clears it.
func TestSnapshotNoteSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	if code := f.call("PUT", "/connectors/p/config", f.config("p"), nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	if code := f.call("PUT", "/connectors/p/pause", nil, nil); code != 202 {
		t.Fatal("pause")
	}
	if err := f.worker.SetSnapshotPending(t.Context(), "p", true); err != nil {
		t.Fatal(err)
	}
	f.stopWorker()
	f.startWorker(nil, nil)
	if !f.worker.SnapshotPending("p") {
		t.Fatal("snapshot note lost across a restart")
	}
	if code := f.call("DELETE", "/connectors/p", nil, nil); code != 204 {
		t.Fatal("delete")
	}
	if code := f.call("PUT", "/connectors/p/config", f.config("p"), nil); code != 201 {
		t.Fatal("re-create")
	}
	f.stopWorker()
	f.startWorker(nil, nil)
	if f.worker.SnapshotPending("p") {
		t.Fatal("snapshot note survived DELETE")
	}
}
