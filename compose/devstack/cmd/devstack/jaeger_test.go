package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestJaegerConfig(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		wantErr    string
		wantJaeger bool
		wantPorts  []string // JAEGER_* ports checked before start
		wantOTEL   []string
	}{
		{
			name:       "on by default, on the default ports",
			env:        map[string]string{},
			wantJaeger: true,
			wantPorts:  []string{"JAEGER_PORT=16686", "JAEGER_OTLP_PORT=4318"},
			wantOTEL:   []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "OTEL_BSP_SCHEDULE_DELAY=200"},
		},
		{
			name:       "moved",
			env:        map[string]string{"JAEGER": "on", "JAEGER_PORT": "26686", "JAEGER_OTLP_PORT": "24318"},
			wantJaeger: true,
			wantPorts:  []string{"JAEGER_PORT=26686", "JAEGER_OTLP_PORT=24318"},
			wantOTEL:   []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:24318", "OTEL_BSP_SCHEDULE_DELAY=200"},
		},
		{
			name: "off: no Jaeger, no ports, no endpoint",
			env:  map[string]string{"JAEGER": "off", "JAEGER_PORT": "26686"},
		},
		{name: "unknown value", env: map[string]string{"JAEGER": "no"}, wantErr: `JAEGER="no"`},
		{name: "bad port", env: map[string]string{"JAEGER_OTLP_PORT": "http"}, wantErr: "JAEGER_OTLP_PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadConfig: %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.withJaeger != tc.wantJaeger {
				t.Errorf("withJaeger = %v, want %v", cfg.withJaeger, tc.wantJaeger)
			}
			var ports []string
			for _, p := range cfg.ports() {
				if strings.HasPrefix(p.env, "JAEGER") {
					ports = append(ports, fmt.Sprintf("%s=%d", p.env, p.port))
				}
			}
			if !slices.Equal(ports, tc.wantPorts) {
				t.Errorf("Jaeger ports checked before start: %q, want %q", ports, tc.wantPorts)
			}
			if got := cfg.otelEnv(); !slices.Equal(got, tc.wantOTEL) {
				t.Errorf("services' OTEL environment %q, want %q", got, tc.wantOTEL)
			}
			if line := cfg.jaegerEndpoint(); tc.wantJaeger != strings.Contains(line, fmt.Sprintf("http://127.0.0.1:%d", cfg.jaegerPort)) {
				t.Errorf("endpoint line %q with Jaeger %v", line, tc.wantJaeger)
			}
		})
	}
}

// TestJaeger starts the stack's Jaeger as run does, from the real binary
// on free ports: it becomes healthy, opens no port but the two it was given
// (and the query gRPC API on a port the kernel picks), keeps a span
// posted over OTLP/HTTP and returns it from the query API, and stops with
// the stack.
func TestJaeger(t *testing.T) {
	bin := testJaegerBinary(t)
	free := devstacktest.FreePorts(t, 2)
	cfg := config{dir: t.TempDir(), logLevel: "info", withJaeger: true, jaegerPort: free[0], jaegerOTLPPort: free[1]}
	j := cfg.jaegerPorts()
	var logs servicetest.LogBuffer
	sup := newSupervisor(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(sup.stopAll)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pid, err := startJaeger(ctx, cfg, bin, sup, &lineWriter{w: &logs}, false, nil)
	if err != nil {
		t.Fatalf("startJaeger: %v\n%s", err, logs.String())
	}
	if _, err := os.Stat(filepath.Join(cfg.dir, "jaeger.yaml")); err != nil {
		t.Errorf("no configuration in the state directory: %v", err)
	}
	if err := stackstate.Healthy(j.QueryURL() + "/api/services"); err != nil {
		t.Fatalf("started but not healthy: %v", err)
	}

	tcp, udp := sockets(t, pid)
	var others []int
	for _, p := range tcp {
		if p != j.QueryPort && p != j.OTLPPort {
			others = append(others, p)
		}
	}
	if !slices.Contains(tcp, j.QueryPort) || !slices.Contains(tcp, j.OTLPPort) {
		t.Errorf("Jaeger listens on %v, not on its query port %d and OTLP port %d", tcp, j.QueryPort, j.OTLPPort)
	}
	// Jaeger's own default ports: none may be taken by a stack on other ports.
	defaults := []int{4317, 4318, 5778, 5779, 8888, 9411, 13132, 13133, 14250, 14268, 16685, 16686, 1777, 27777, 27778, 55679}
	for _, p := range others {
		if slices.Contains(defaults, p) {
			t.Errorf("Jaeger listens on its default port %d (listening on %v)", p, tcp)
		}
	}
	if len(others) > 1 || udp > 0 {
		t.Errorf("Jaeger listens on %v and holds %d UDP sockets; want its two ports, the query gRPC API's and no UDP", tcp, udp)
	}

	traceID, service := randomHex(t, 16), "devstack-jaeger-test"
	postSpan(t, j.OTLPEndpoint(), traceID, service, "probe")
	var got string
	waitUntil(t, 30*time.Second, "the span in "+j.QueryURL()+"/api/traces/"+traceID, func() bool {
		got = traceSummary(j.QueryURL(), traceID)
		return got == service+" probe"
	})
	var services struct {
		Data []string `json:"data"`
	}
	getJSON(t, j.QueryURL()+"/api/services", &services)
	if !slices.Contains(services.Data, service) {
		t.Errorf("/api/services lists %q, not %s", services.Data, service)
	}

	sup.stopAll()
	if stackstate.Alive(pid) {
		t.Fatalf("Jaeger (pid %d) still runs after the stack stopped", pid)
	}
	for _, p := range []int{j.QueryPort, j.OTLPPort} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts connections after Jaeger stopped", p)
		}
	}
}

// testJaegerBinary builds Jaeger (once per machine) for a test. A machine
// that cannot build it skips the test, except under CI=true, where it
// fails: CI never leaves Jaeger out silently.
func testJaegerBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Jaeger the first time (minutes)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin, err := jaegerBinary(ctx, devstacktest.Root(t), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("building Jaeger: %v", err)
		}
		t.Skipf("cannot build Jaeger here (under CI=true this fails): %v", err)
	}
	return bin
}

// postSpan sends one span over OTLP/HTTP in its JSON encoding, as a
// service's exporter would in protobuf.
func postSpan(t *testing.T, endpoint, traceID, service, name string) {
	t.Helper()
	now := time.Now()
	body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":%q}}]},
"scopeSpans":[{"scope":{"name":"devstack-test"},"spans":[{"traceId":%q,"spanId":%q,"name":%q,"kind":2,
"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`,
		service, traceID, randomHex(t, 8), name, now.Add(-time.Millisecond).UnixNano(), now.UnixNano())
	resp, err := http.Post(endpoint+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("OTLP POST: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST answered %s", resp.Status)
	}
}

// traceSummary returns "<service> <operation>" of the first span of a
// trace in Jaeger's query API, or "" while it has none.
func traceSummary(queryURL, traceID string) string {
	resp, err := http.Get(queryURL + "/api/traces/" + traceID)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans []struct {
				OperationName string `json:"operationName"`
				ProcessID     string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data) == 0 || len(body.Data[0].Spans) == 0 {
		return ""
	}
	span := body.Data[0].Spans[0]
	return body.Data[0].Processes[span.ProcessID].ServiceName + " " + span.OperationName
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// sockets returns the TCP ports a process listens on and the number of
// UDP sockets it holds, from /proc.
func sockets(t *testing.T, pid int) (tcp []int, udp int) {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if ino, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(ino, "]")] = true
		}
	}
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			cols := strings.Fields(sc.Text())
			if len(cols) < 10 || !inodes[cols[9]] {
				continue
			}
			if strings.HasPrefix(table, "udp") {
				udp++
				continue
			}
			_, hexPort, _ := strings.Cut(cols[1], ":")
			port, err := strconv.ParseInt(hexPort, 16, 32)
			if cols[3] == "0A" && err == nil && !slices.Contains(tcp, int(port)) { // 0A: LISTEN
				tcp = append(tcp, int(port))
			}
		}
		f.Close()
	}
	return tcp, udp
}
