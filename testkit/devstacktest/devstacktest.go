// Package devstacktest starts whole stacks the way `make dev` does, for
// tests: the devstack command built from the repository, on free ports,
// with a fresh state directory, stopped with SIGTERM when the test ends.
//
// A stack started here runs without Jaeger (JAEGER=off): a test neither
// builds nor starts it, and devstack gives the services no OTLP endpoint.
// WithJaeger turns it on, on two more free ports.
//
// Ports are chosen below the kernel's ephemeral range: a stack keeps its
// ports across restarts of its components, and a port from the ephemeral
// range could meanwhile be handed to any process that binds port 0 or
// connects out, which is what every other test does.
package devstacktest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// PortNames are the variables that move a stack's listeners, in the order
// Start assigns them.
var PortNames = []string{"PG_PORT", "KAFKA_PORT", "CONNECT_PORT", "ORDER_PORT", "PAYMENT_PORT", "INVENTORY_PORT", "KAFKA_CONTROLLER_PORT"}

// JaegerPortNames are the variables that move Jaeger's listeners (its
// query API and UI, its OTLP/HTTP receiver), set only WithJaeger.
var JaegerPortNames = []string{"JAEGER_PORT", "JAEGER_OTLP_PORT"}

// Option changes how Start runs a stack.
type Option func(*options)

type options struct {
	jaeger bool
}

// WithJaeger runs the stack with Jaeger on free ports (Ports has
// JaegerPortNames), the services sending their spans to it. The first such
// stack on a machine builds Jaeger (minutes), before the stack's start-up
// deadline begins. A machine that cannot build it skips the test, except
// under CI=true, where the test fails.
func WithJaeger() Option { return func(o *options) { o.jaeger = true } }

// needJaeger builds Jaeger unless it is built already (`devstack jaeger`).
func needJaeger(t testing.TB, bin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "jaeger")
	cmd.Dir = Root(t)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("devstacktest: building Jaeger: %v\n%s", err, out)
	}
	t.Skipf("devstacktest: cannot build Jaeger here (under CI=true this fails): %v\n%s", err, out)
}

// Stack is a running devstack.
type Stack struct {
	Dir    string         // its state directory (DEV_DIR)
	Ports  map[string]int // by PortNames, and JaegerPortNames WithJaeger
	Output *servicetest.LogBuffer

	cmd     *exec.Cmd
	exited  chan error
	stopped bool
}

// Root returns the repository root: the directory holding go.work, from
// the working directory up.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("devstacktest: no go.work above the working directory")
		}
		dir = parent
	}
}

// Build builds the devstack command into a temporary directory.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devstack")
	cmd := exec.Command("go", "build", "-o", bin, "./compose/devstack/cmd/devstack")
	cmd.Dir = Root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build devstack: %v\n%s", err, out)
	}
	return bin
}

// Start runs `devstack` (bin, from Build) for stack on free ports and a
// fresh state directory, and returns once it printed "stack ready". The
// stack is stopped when the test ends. It runs without Jaeger unless
// WithJaeger is given.
func Start(t testing.TB, bin, stack string, opts ...Option) *Stack {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Stack{Dir: StateDir(t), Ports: map[string]int{}, Output: &servicetest.LogBuffer{}, exited: make(chan error, 1)}
	jaeger, names := "JAEGER=off", PortNames
	if o.jaeger {
		needJaeger(t, bin)
		jaeger, names = "JAEGER=on", append(append([]string{}, PortNames...), JaegerPortNames...)
	}
	env := append(os.Environ(), "DEV_DIR="+s.Dir, "STACK="+stack, jaeger)
	for i, p := range FreePorts(t, len(names)) {
		s.Ports[names[i]] = p
		env = append(env, fmt.Sprintf("%s=%d", names[i], p))
	}
	s.cmd = exec.Command(bin)
	s.cmd.Dir = Root(t)
	s.cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, s.Output
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if !s.stopped {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(90 * time.Second):
				_ = s.cmd.Process.Kill()
			}
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(s.Output, sc.Text())
			if !signalled && strings.HasSuffix(sc.Text(), "stack ready") {
				signalled = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case err := <-s.exited:
		s.stopped = true
		t.Fatalf("devstack exited before it was ready: %v\n%s", err, s.Tail(6000))
	case <-time.After(6 * time.Minute):
		t.Fatalf("devstack not ready within 6 minutes\n%s", s.Tail(6000))
	}
	return s
}

// URL is the base URL of a service's HTTP API ("ORDER_PORT" ...).
func (s *Stack) URL(port string) string { return fmt.Sprintf("http://127.0.0.1:%d", s.Ports[port]) }

// Tail returns the last n bytes of the stack's output.
func (s *Stack) Tail(n int) string {
	b := s.Output.String()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return b
}

// Stop sends SIGTERM and fails the test unless devstack exits cleanly
// within 90 s.
func (s *Stack) Stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		s.stopped = true
		if err != nil {
			t.Fatalf("devstack exited with %v after SIGTERM\n%s", err, s.Tail(4000))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("devstack did not stop within 90s of SIGTERM\n%s", s.Tail(4000))
	}
}

// StateDir is a fresh state directory removed after the test. The
// PostgreSQL server may run as another OS user, who must be able to reach
// it: t.TempDir() is private to us.
func StateDir(t testing.TB) string {
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

// FreePorts returns n ports that are free now, chosen below the kernel's
// ephemeral range.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	lo := ephemeralLow()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 10000 {
			t.Fatal("devstacktest: no free ports below the ephemeral range")
		}
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
