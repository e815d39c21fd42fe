package stackfiles

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/jaeger"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
)

const root = "../../.."

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose", "compose.yaml")},
		cli.WithWorkingDirectory(filepath.Join(root, "compose")),
		cli.WithEnv([]string{}),
		cli.WithInterpolation(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	return p
}

// TestComposeFile checks what would break a user of `make up`.
func TestComposeFile(t *testing.T) {
	p := loadCompose(t)

	wantPorts := map[string][]uint32{"postgres": {5432}, "kafka": {9092}, "connect": {8083}, "order": {8080}, "payment": {8081}, "inventory": {8082},
		"jaeger": {16686, 4318}}
	for _, name := range []string{"postgres", "kafka", "connect", "order", "payment", "inventory", "kafka-ui", "jaeger"} {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			repo, tag, hasTag := strings.Cut(s.Image, ":")
			if s.Image == "" || !hasTag || tag == "" || tag == "latest" || strings.Contains(tag, "/") {
				t.Errorf("image %q is not pinned to a tag (no latest)", s.Image)
			}
			_ = repo
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Errorf("no healthcheck")
			}
			// A component that dies comes back; make down stops it for good.
			if s.Restart != types.RestartPolicyUnlessStopped {
				t.Errorf("restart %q, want %q", s.Restart, types.RestartPolicyUnlessStopped)
			}
			for dep, d := range s.DependsOn {
				if d.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends_on %s with condition %q, want service_healthy", dep, d.Condition)
				}
			}
			for _, want := range wantPorts[name] {
				found := false
				for _, port := range s.Ports {
					pub := port.Published
					if pub == "" {
						continue
					}
					found = found || (port.Target == want && pub == itoa(want) && port.HostIP == "127.0.0.1")
				}
				if !found {
					t.Errorf("port 127.0.0.1:%d:%d not published (ports %+v)", want, want, s.Ports)
				}
			}
		})
	}

	pg := p.Services["postgres"]
	if !slices.Contains(pg.Command, "wal_level=logical") {
		t.Errorf("postgres command %q does not set wal_level=logical", pg.Command)
	}
	connect := p.Services["connect"]
	for _, key := range []string{"BOOTSTRAP_SERVERS", "GROUP_ID", "CONFIG_STORAGE_TOPIC", "OFFSET_STORAGE_TOPIC", "STATUS_STORAGE_TOPIC",
		"CONNECT_CONFIG_PROVIDERS", "CONNECT_CONFIG_PROVIDERS_ENV_CLASS", "CDC_DB_HOST", "CDC_DB_PORT", "CDC_DB_USER", "CDC_DB_PASSWORD"} {
		if v := connect.Environment[key]; v == nil || *v == "" {
			t.Errorf("connect: %s not set", key)
		}
	}
	if v := connect.Environment["CDC_DB_USER"]; v != nil && *v == "postgres" {
		t.Error("connect logs in as the superuser")
	}
	for _, svc := range []string{"order", "payment", "inventory"} {
		dsn := p.Services[svc].Environment["DATABASE_URL"]
		if dsn == nil || strings.Contains(*dsn, "//postgres:") {
			t.Errorf("%s: DATABASE_URL %v must use the service's own role, not the superuser", svc, dsn)
		}
		// Every service sends its spans to the stack's Jaeger over OTLP/HTTP.
		if otlp := p.Services[svc].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; otlp == nil || *otlp != "http://jaeger:4318" {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT %v, want http://jaeger:4318", svc, otlp)
		}
	}
}

// jaegerReleases pairs the Go module version of Jaeger (tools/jaeger) with
// the Jaeger v2 release, and so the image tag, built from the same commit:
// Jaeger tagged both until v1.76.0 / v2.13.0. Upgrading one of them means
// upgrading the other and adding the pair here.
var jaegerReleases = map[string]string{"v1.75.0": "2.12.0"}

// TestJaegerImageMatchesTool keeps the compose stack's Jaeger the release
// the stacks without Docker build from tools/jaeger.
func TestJaegerImageMatchesTool(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(root, "tools", "jaeger", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := jaeger.Version(gomod)
	release, ok := jaegerReleases[module]
	if !ok {
		t.Fatalf("tools/jaeger builds Jaeger %s, whose v2 release this test does not know; add the pair to jaegerReleases", module)
	}
	s, ok := loadCompose(t).Services["jaeger"]
	if !ok {
		t.Fatal("compose.yaml has no jaeger service")
	}
	if want := "jaegertracing/jaeger:" + release; s.Image != want {
		t.Errorf("compose.yaml runs %s; tools/jaeger builds module %s, which is %s", s.Image, module, want)
	}
}

// TestConnectorConfigs checks connectors/debezium/*.json against the
// recommendations for an outbox-only pipeline.
func TestConnectorConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "connectors", "debezium", "*.json"))
	if err != nil || len(files) != 3 {
		t.Fatalf("want one connector per service database, found %v (%v)", files, err)
	}
	want := map[string]string{
		"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
		"plugin.name":                 "pgoutput",
		"publication.autocreate.mode": "filtered",
		"snapshot.mode":               "no_data",
		"extended.headers.enabled":    "false",
		"key.converter":               "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":             "org.apache.kafka.connect.storage.StringConverter",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
		"transforms.outbox.table.fields.additional.placement": "type:header:eventType,traceparent:header:traceparent",
		"transforms.outbox.table.field.event.timestamp":       "occurred_at",
		"database.user":     "${env:CDC_DB_USER}",
		"database.password": "${env:CDC_DB_PASSWORD}",
		"database.hostname": "${env:CDC_DB_HOST}",
		"database.port":     "${env:CDC_DB_PORT}",
	}
	slots := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]string
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatalf("not a flat JSON object of strings: %v", err)
			}
			for k, v := range want {
				if cfg[k] != v {
					t.Errorf("%s = %q, want %q", k, cfg[k], v)
				}
			}
			if !strings.Contains(cfg["heartbeat.action.query"], "pg_logical_emit_message") || cfg["heartbeat.interval.ms"] == "" {
				t.Errorf("heartbeat not configured with pg_logical_emit_message: %q", cfg["heartbeat.action.query"])
			}
			db := strings.TrimSuffix(filepath.Base(f), ".json")
			if cfg["database.dbname"] != db {
				t.Errorf("database.dbname = %q, want %q (file name)", cfg["database.dbname"], db)
			}
			if slots[cfg["slot.name"]] {
				t.Errorf("slot.name %q used by two connectors", cfg["slot.name"])
			}
			slots[cfg["slot.name"]] = true
		})
	}
}

func itoa(n uint32) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestModulesBuildWithoutWorkspace builds what compose/Dockerfile builds,
// and the operator CLI, the way the Dockerfile builds: each module on its own with GOWORK=off, resolving
// siblings through its replace lines and checksums from its own go.sum.
func TestModulesBuildWithoutWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every service")
	}
	for _, tc := range []struct{ dir, pkg string }{
		{"services/order", "./cmd/order"},
		{"services/payment", "./cmd/payment"},
		{"services/inventory", "./cmd/inventory"},
		{"compose/devstack", "./cmd/httpcheck"},
		{"connectors/walrelay", "./cmd/walrelay"},
		{"outboxctl", "."},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "bin"), tc.pkg)
			cmd.Dir = filepath.Join(root, tc.dir)
			cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOWORK=off go build %s in %s: %v\n%s", tc.pkg, tc.dir, err, out)
			}
		})
	}
}

// TestConnectWorkerMatchesCompose keeps one set of Kafka Connect worker
// settings: the ones compose.yaml gives the Debezium image (environment
// variables the image turns into worker properties: CONNECT_ prefix
// dropped, lower case, _ to .) must be the ones jvmstack writes for the
// stack without Docker, apart from what depends on where the worker runs.
func TestConnectWorkerMatchesCompose(t *testing.T) {
	p := loadCompose(t)
	connect, ok := p.Services["connect"]
	if !ok {
		t.Fatal("compose.yaml has no connect service")
	}
	local := jvmstack.WorkerProperties("127.0.0.1:9092", 8083, jvmstack.DefaultGroupID)
	placement := map[string]string{
		"bootstrap.servers":         "the broker's address differs per stack",
		"listeners":                 "the REST listener binds to loopback without Docker",
		"rest.advertised.host.name": "the REST listener binds to loopback without Docker",
		"rest.advertised.port":      "the REST listener binds to loopback without Docker",
		"plugin.discovery":          "the image isolates plugins under plugin.path; without Docker they are on the classpath",
	}
	fromCompose := map[string]string{}
	for name, v := range connect.Environment {
		if strings.HasPrefix(name, "CDC_DB_") { // connector settings, read through ${env:...}
			continue
		}
		if v == nil {
			t.Errorf("connect: %s has no value", name)
			continue
		}
		prop := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "CONNECT_")), "_", ".")
		fromCompose[prop] = *v
	}
	for prop, v := range fromCompose {
		if _, ok := placement[prop]; ok {
			continue
		}
		if got, ok := local[prop]; !ok {
			t.Errorf("compose.yaml sets worker property %s=%s; jvmstack.WorkerProperties does not", prop, v)
		} else if got != v {
			t.Errorf("worker property %s: compose.yaml %q, jvmstack.WorkerProperties %q", prop, v, got)
		}
	}
	for prop, v := range local {
		if _, ok := placement[prop]; ok {
			continue
		}
		if _, ok := fromCompose[prop]; !ok {
			t.Errorf("jvmstack.WorkerProperties sets %s=%s; compose.yaml's connect service does not", prop, v)
		}
	}
}
