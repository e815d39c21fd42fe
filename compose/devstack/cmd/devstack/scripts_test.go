package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	return devstacktest.FreePorts(t, 1)[0]
}

// TestFirstCommandsFailFast runs each first command against nothing: it
// must fail at once with one line naming the URL and how to start a stack.
func TestFirstCommandsFailFast(t *testing.T) {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	p := closedPort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", p)
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		wantURL string
	}{
		{"e2e.sh", []string{"scripts/e2e.sh"}, []string{"ORDER_URL=" + url}, url},
		{"e2e.sh, broker down", []string{"scripts/e2e.sh"}, []string{
			"ORDER_URL=" + startHTTP(t), "PAYMENT_URL=" + startHTTP(t), "INVENTORY_URL=" + startHTTP(t),
			fmt.Sprintf("KAFKA_BROKERS=127.0.0.1:%d", p)}, fmt.Sprintf("127.0.0.1:%d", p)},
		{"register-connector.sh", []string{"scripts/register-connector.sh", "--url", url}, nil, url},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", tc.args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), tc.env...)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			if err == nil {
				t.Fatalf("succeeded with nothing listening:\n%s", out)
			}
			// The contract is under 2 s; the deadline is generous for a busy machine.
			if took > 5*time.Second {
				t.Errorf("took %s to fail", took)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 1 {
				t.Errorf("printed %d lines, want one:\n%s", len(lines), out)
			}
			if msg := string(out); !strings.Contains(msg, tc.wantURL) || !strings.Contains(msg, "make up") || !strings.Contains(msg, "make dev") {
				t.Errorf("message %q does not name %s, make up and make dev", msg, tc.wantURL)
			}
		})
	}
}

// startHTTP serves 200 on every path on a free port, as a ready service
// would, and returns its URL.
func startHTTP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httpServer{l: l}
	go srv.serve()
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String()
}

type httpServer struct{ l net.Listener }

func (s *httpServer) serve() {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}()
	}
}

// TestRegisterValidatesFirst: a connector JSON with a misspelt required
// field gets that field's error, in one line, from walrelay and from real
// Kafka Connect alike, and nothing is registered.
func TestRegisterValidatesFirst(t *testing.T) {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(root, "connectors", "debezium", "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), `"database.hostname"`, `"database.hostnme"`, 1)
	if bad == string(good) {
		t.Fatal("orders.json has no database.hostname to misspell")
	}
	file := filepath.Join(t.TempDir(), "misspelt.json")
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}

	servers := map[string]func(t *testing.T) string{
		"walrelay": func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			r, err := relay.Start(context.Background(), relay.Config{Brokers: []string{kafkatest.Start(t)}, Listener: ln})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close(context.Background()) })
			return "http://" + ln.Addr().String()
		},
		"kafka connect": func(t *testing.T) string {
			if testing.Short() {
				t.Skip("starts Apache Kafka and Kafka Connect")
			}
			broker := jvmtest.StartBroker(t)
			return jvmtest.StartConnect(t, broker.Addr()).URL()
		},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			url := start(t)
			cmd := exec.Command("bash", "scripts/register-connector.sh", "--url", url, "--timeout", "60", file)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("registered a config with a misspelt required field:\n%s", out)
			}
			var line string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, "database.hostname") {
					line = l
				}
			}
			if !strings.HasPrefix(line, "misspelt: invalid config: database.hostname: ") {
				t.Errorf("no one-line error for database.hostname:\n%s", out)
			}
			if strings.Contains(string(out), "created") {
				t.Errorf("the connector was created although validation failed:\n%s", out)
			}
		})
	}
}

// TestRegisterWithBasicAuth: against a walrelay that requires a user, the
// script stops at once and names CONNECT_BASIC_AUTH without it, and with it
// gets through to the connector's validation.
func TestRegisterWithBasicAuth(t *testing.T) {
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(root, "connectors", "debezium", "orders.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "misspelt.json")
	if err := os.WriteFile(file, []byte(strings.Replace(string(good), `"database.hostname"`, `"database.hostnme"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.Start(context.Background(), relay.Config{Brokers: []string{kafkatest.Start(t)}, Listener: ln,
		Credentials: map[string]string{"admin": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	register := func(auth string) string {
		cmd := exec.Command("bash", "scripts/register-connector.sh", "--url", "http://"+ln.Addr().String(), "--timeout", "60", file)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CONNECT_BASIC_AUTH="+auth)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("registered a misspelt config:\n%s", out)
		}
		return string(out)
	}
	if out := register(""); !strings.Contains(out, "requires a user and password; set CONNECT_BASIC_AUTH=user:password") {
		t.Fatalf("without credentials:\n%s", out)
	}
	if out := register("admin:wrong"); !strings.Contains(out, "CONNECT_BASIC_AUTH") {
		t.Fatalf("with a wrong password:\n%s", out)
	}
	if out := register("admin:s3cret"); !strings.Contains(out, "misspelt: invalid config: database.hostname: ") {
		t.Fatalf("with credentials the script did not reach validation:\n%s", out)
	}
}
