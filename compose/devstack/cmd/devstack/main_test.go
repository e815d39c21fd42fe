package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
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

// syncBuffer collects a process's output for the failure report.
type syncBuffer struct{ servicetest.LogBuffer }

func (s *syncBuffer) tail(n int) string {
	b := s.String()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b
}

// freePorts returns n ports that are free now, chosen below the kernel's
// ephemeral range. A stack keeps its ports across restarts (make up after a
// crash binds the same ones again); a port from the ephemeral range could
// meanwhile be handed to any other process that binds port 0 or connects
// out, which is what every other test does.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	lo := ephemeralLow()
	var ports []int
	for len(ports) < n {
		p := 10000 + int(nextPort.Add(1)%uint64(lo-10000))
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	return ports
}

// nextPort walks the ports below the ephemeral range from a random start,
// so tests of one binary never pick the same port twice and binaries
// running side by side rarely do.
var nextPort = func() *atomic.Uint64 {
	var a atomic.Uint64
	a.Store(uint64(time.Now().UnixNano()))
	return &a
}()

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 11000 {
				return lo
			}
		}
	}
	return 32768
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
	dir := stateDir(t)

	ports := freePorts(t, 7)
	names := []string{"PG_PORT", "KAFKA_PORT", "CONNECT_PORT", "ORDER_PORT", "PAYMENT_PORT", "INVENTORY_PORT", "KAFKA_CONTROLLER_PORT"}
	env := append(os.Environ(), "DEV_DIR="+dir, "STACK="+stack)
	for i, n := range names {
		env = append(env, fmt.Sprintf("%s=%d", n, ports[i]))
	}

	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = env
	var output syncBuffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	cmd.Stderr = &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(90 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	})

	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(&output, sc.Text())
			if !signalled && strings.HasSuffix(sc.Text(), "stack ready") {
				signalled = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		stopped = true
		t.Fatalf("devstack exited before it was ready: %v\n%s", err, output.tail(6000))
	case <-time.After(6 * time.Minute):
		t.Fatalf("devstack not ready within 6 minutes\n%s", output.tail(6000))
	}

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
		t.Fatalf("scripts/e2e.sh failed: %v\nstack output:\n%s", err, output.tail(8000))
	}
	if !strings.Contains(string(out), "6 passed, 0 failed") {
		t.Fatalf("scripts/e2e.sh did not report 6 passed checks")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("devstack exited with %v after SIGTERM\n%s", err, output.tail(4000))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("devstack did not stop within 90s of SIGTERM\n%s", output.tail(4000))
	}
	for i, p := range ports {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("%s %d still accepts connections after devstack stopped", names[i], p)
		}
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
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "devstack")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return root, bin
}

// stateDir is a fresh state directory removed after the test. The
// PostgreSQL server may run as another OS user, who must be able to reach
// it: t.TempDir() is private to us.
func stateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "devstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
