package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
)

func TestSplitSQL(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"two statements", "CREATE ROLE a;\nCREATE ROLE b;", []string{"CREATE ROLE a", "CREATE ROLE b"}},
		{"comments dropped", "-- hello; world\nSELECT 1; -- trailing\n", []string{"SELECT 1"}},
		{"semicolon in a literal", "CREATE ROLE a PASSWORD 'x;y';", []string{"CREATE ROLE a PASSWORD 'x;y'"}},
		{"escaped quote", "SELECT 'it''s; fine';", []string{"SELECT 'it''s; fine'"}},
		{"no trailing semicolon", "SELECT 1", []string{"SELECT 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitSQL(tc.in)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("splitSQL = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDevStackEndToEnd starts each stack the way `make dev STACK=...` does
// (on free ports and a fresh state directory), runs scripts/e2e.sh against
// it, stops it with SIGTERM and checks that nothing it started still
// listens. The same script, connector JSON and services pass on the
// embedded stack, on walrelay with Apache Kafka, and on Debezium with
// Apache Kafka.
func TestDevStackEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	root, bin := buildDevstack(t)
	for _, stack := range []string{stackEmbedded, stackKafka, stackDebezium} {
		t.Run(stack, func(t *testing.T) {
			if stack != stackEmbedded {
				jvmtest.LibDir(t) // skips (outside CI) or fails where the JVM stack cannot run
			}
			testStack(t, root, bin, stack)
		})
	}
}

func testStack(t *testing.T, root, bin, stack string) {
	st := devstacktest.Start(t, bin, stack)
	ports := make([]int, len(devstacktest.PortNames))
	for i, n := range devstacktest.PortNames {
		ports[i] = st.Ports[n]
	}
	names := devstacktest.PortNames

	// The REST API on the Connect port is Kafka Connect itself on the
	// debezium stack, walrelay on the others.
	wantVersion := map[string]string{stackEmbedded: "dev", stackKafka: "dev", stackDebezium: "4.3.0"}[stack]
	if v := connectVersion(t, ports[2]); v != wantVersion {
		t.Errorf("GET / on the Connect port reports version %q, want %q (%s)", v, wantVersion, connectKind(stack))
	}

	e2e := exec.Command("bash", filepath.Join(root, "scripts", "e2e.sh"))
	e2e.Dir = root
	e2e.Env = append(os.Environ(),
		fmt.Sprintf("ORDER_URL=http://127.0.0.1:%d", ports[3]),
		fmt.Sprintf("PAYMENT_URL=http://127.0.0.1:%d", ports[4]),
		fmt.Sprintf("INVENTORY_URL=http://127.0.0.1:%d", ports[5]),
		fmt.Sprintf("KAFKA_BROKERS=127.0.0.1:%d", ports[1]),
	)
	out, err := e2e.CombinedOutput()
	t.Logf("scripts/e2e.sh:\n%s", out)
	if err != nil {
		t.Fatalf("scripts/e2e.sh failed: %v\nstack output:\n%s", err, st.Tail(8000))
	}
	if !strings.Contains(string(out), "6 passed, 0 failed") {
		t.Fatalf("scripts/e2e.sh did not report 6 passed checks")
	}

	// The services reach PostgreSQL through its Unix-domain socket: their
	// sessions have no client address.
	servicesConnectThroughTheSocket(t, ports[0])

	// Stacks started by tests run without Jaeger (JAEGER=off): none started,
	// none recorded, no endpoint given to the services.
	state, err := readState(st.Dir)
	if err != nil || state == nil {
		t.Fatalf("reading the stack's state: %v", err)
	}
	// The stack's Go programs run with their share of the CPUs.
	goPrograms := map[string]bool{"order": true, "payment": true, "inventory": true}
	if stack != stackDebezium {
		goPrograms["walrelay"] = true
	}
	if stack == stackEmbedded {
		goPrograms["kafka"] = true
	}
	wantProcs := "GOMAXPROCS=" + strconv.Itoa(max(1, runtime.NumCPU()/2))
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		wantProcs = "GOMAXPROCS=" + v
	}
	for _, c := range state.Components {
		if c.Name == "jaeger" {
			t.Errorf("a stack started with JAEGER=off runs jaeger (pid %d)", c.Pid)
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.Pid))
		if err != nil {
			if goPrograms[c.Name] {
				t.Errorf("%s: %v", c.Name, err)
			}
			delete(goPrograms, c.Name)
			continue
		}
		environ := strings.Split(string(raw), "\x00")
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && slices.ContainsFunc(environ, func(v string) bool { return strings.HasPrefix(v, "OTEL_EXPORTER_OTLP_ENDPOINT=") }) {
			t.Errorf("%s was given an OTLP endpoint although the stack runs without Jaeger", c.Name)
		}
		if goPrograms[c.Name] && !slices.Contains(environ, wantProcs) {
			t.Errorf("%s runs without %s", c.Name, wantProcs)
		}
		delete(goPrograms, c.Name)
	}
	for name := range goPrograms {
		t.Errorf("no %s in the stack's state", name)
	}
	if state.Jaeger != nil || strings.Contains(state.Endpoints, "jaeger") {
		t.Errorf("a stack started with JAEGER=off records Jaeger: %+v, endpoints:\n%s", state.Jaeger, state.Endpoints)
	}

	st.Stop(t)
	for i, p := range ports {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("%s %d still accepts connections after devstack stopped", names[i], p)
		}
	}
}

// servicesConnectThroughTheSocket checks the sessions of the services'
// roles on the stack's PostgreSQL at port: each service has one, and none
// comes over TCP.
func servicesConnectThroughTheSocket(t *testing.T, port int) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fmt.Sprintf("postgres://postgres:postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, _ := conn.Query(t.Context(), `SELECT usename, count(*) FILTER (WHERE client_addr IS NULL), count(*) FILTER (WHERE client_addr IS NOT NULL)
FROM pg_stat_activity WHERE usename LIKE '%\_service' GROUP BY usename ORDER BY usename`)
	var got []string
	var user string
	var local, tcp int
	if _, err := pgx.ForEachRow(rows, []any{&user, &local, &tcp}, func() error {
		got = append(got, user)
		if local == 0 || tcp > 0 {
			t.Errorf("%s: %d sessions through the socket, %d over TCP; want all through the socket", user, local, tcp)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"inventory_service", "order_service", "payment_service"}; !slices.Equal(got, want) {
		t.Errorf("service roles with sessions: %v, want %v", got, want)
	}
}

// connectVersion returns the version GET / reports on a Kafka Connect REST API.
func connectVersion(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var root struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&root); err != nil {
		t.Fatalf("GET / on the Connect port: %v", err)
	}
	return root.Version
}

// buildDevstack builds this command into a temporary directory and returns
// the repository root and the binary.
func buildDevstack(t *testing.T) (root, bin string) {
	t.Helper()
	return devstacktest.Root(t), devstacktest.Build(t)
}

func TestChildLogFormat(t *testing.T) {
	tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0) // a character device, as a terminal is
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	file, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, tc := range []struct {
		name      string
		logFormat string
		out       *os.File
		want      string
		wantJSON  bool // what Jaeger is told to log, to match
	}{
		{"terminal", "", tty, "LOG_FORMAT=text", false},
		{"file (make up)", "", file, "", true},
		{"terminal, user chose JSON", "json", tty, "", true},
		{"file, user chose text", "text", file, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return map[string]string{"LOG_FORMAT": tc.logFormat}[k] }
			got := strings.Join(childLogFormat(getenv, tc.out), " ")
			if got != tc.want {
				t.Errorf("env = %q, want %q", got, tc.want)
			}
			if json := childLogsJSON(getenv, tc.out); json != tc.wantJSON {
				t.Errorf("childLogsJSON = %v, want %v", json, tc.wantJSON)
			}
		})
	}
}
