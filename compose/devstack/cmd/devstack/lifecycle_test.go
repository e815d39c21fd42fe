package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/testkit/apitest"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
)

// detachedEnv is a detached stack on free ports in a fresh directory.
type detachedEnv struct {
	t     *testing.T
	root  string
	bin   string
	dir   string
	env   []string
	ports map[string]int
}

func newDetachedEnv(t *testing.T) *detachedEnv {
	t.Helper()
	root, bin := buildDevstack(t)
	dir := devstacktest.StateDir(t)
	names := []string{"PG_PORT", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "CONNECT_PORT", "ORDER_PORT", "PAYMENT_PORT", "INVENTORY_PORT"}
	free := devstacktest.FreePorts(t, len(names))
	e := &detachedEnv{t: t, root: root, bin: bin, dir: dir, ports: map[string]int{},
		env: append(os.Environ(), "STACK_DIR="+dir, "UP_WITH=local", "JAEGER=off")}
	for i, n := range names {
		e.ports[n] = free[i]
		e.env = append(e.env, fmt.Sprintf("%s=%d", n, free[i]))
	}
	return e
}

// run runs a devstack subcommand and returns its output and error.
func (e *detachedEnv) run(within time.Duration, args ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Dir = e.root
	cmd.Env = e.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // a detached child must not hold the test on our pipe
	err := cmd.Run()
	return out.String(), err
}

func (e *detachedEnv) state() *stackState {
	e.t.Helper()
	st, err := readState(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// TestDetachedLifecycle drives `make up`'s local path end to end: up, ps,
// a second up, a crashed component and up again with the data kept, and
// down leaving no process and no listener behind.
func TestDetachedLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	jvmtest.LibDir(t) // skips (outside CI) or fails where the JVM stack cannot run
	e := newDetachedEnv(t)
	t.Cleanup(func() {
		if st, _ := readState(e.dir); st != nil {
			out, _ := e.run(3*time.Minute, "down")
			t.Logf("cleanup: devstack down:\n%s", out)
		}
	})

	out, err := e.run(8*time.Minute, "up")
	if err != nil {
		t.Fatalf("devstack up: %v\n%s\nstack log:\n%s", err, out, readFile(filepath.Join(e.dir, "stack.log"), 8000))
	}
	for _, c := range []string{"postgres", "kafka", "connect", "order", "payment", "inventory"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("up printed no line for %s:\n%s", c, out)
		}
	}
	if !strings.Contains(out, "stack ready") || !strings.Contains(out, "make e2e") {
		t.Errorf("up did not end with the ready line and the next commands:\n%s", out)
	}

	out, err = e.run(time.Minute, "ps")
	if err != nil {
		t.Fatalf("devstack ps: %v\n%s", err, out)
	}
	for _, c := range e.state().Components {
		if !regexpLine(out, c.Name, "running", "ok") {
			t.Errorf("ps does not show %s running and healthy:\n%s", c.Name, out)
		}
	}

	// make logs C=connect follows Kafka Connect's own log.
	out, _ = e.run(3*time.Second, "logs", "connect")
	connectLog := readFile(filepath.Join(e.dir, "logs", "connect.log"), 1<<30)
	first, _, _ := strings.Cut(out, "\n")
	if first == "" || !strings.Contains(connectLog, first+"\n") || !strings.Contains(connectLog, "Kafka Connect started") {
		t.Errorf("logs connect does not follow Kafka Connect's log; it printed:\n%s", out)
	}

	// The same end-to-end checks pass against the detached stack.
	e2e := exec.Command("bash", filepath.Join(e.root, "scripts", "e2e.sh"))
	e2e.Dir = e.root
	e2e.Env = append(os.Environ(),
		fmt.Sprintf("ORDER_URL=http://127.0.0.1:%d", e.ports["ORDER_PORT"]),
		fmt.Sprintf("PAYMENT_URL=http://127.0.0.1:%d", e.ports["PAYMENT_PORT"]),
		fmt.Sprintf("INVENTORY_URL=http://127.0.0.1:%d", e.ports["INVENTORY_PORT"]),
		fmt.Sprintf("KAFKA_BROKERS=127.0.0.1:%d", e.ports["KAFKA_PORT"]),
	)
	if out, err := e2e.CombinedOutput(); err != nil || !strings.Contains(string(out), "6 passed, 0 failed") {
		t.Errorf("scripts/e2e.sh against the detached stack: %v\n%s", err, out)
	}

	start := time.Now()
	out, err = e.run(time.Minute, "up")
	if err != nil || !strings.Contains(out, "already up") {
		t.Errorf("second up: %v, %q; want a no-op saying the stack is already up", err, out)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("second up took %s", d)
	}

	// Data written before a crash must be there after the next up.
	payment := fmt.Sprintf("http://127.0.0.1:%d", e.ports["PAYMENT_PORT"])
	if code, body := apitest.Call(t, http.MethodPut, payment+"/accounts/lifecycle", `{"balanceCents": 4242}`); code/100 != 2 {
		t.Fatalf("PUT account: %d %v", code, body)
	}

	// A component that dies is started again by the supervisor, which
	// stays up; the service comes back ready with its data.
	before := e.state()
	var order component
	for _, c := range before.Components {
		if c.Name == "order" {
			order = c
		}
	}
	if err := syscall.Kill(order.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var healed component
	waitUntil(t, 2*time.Minute, "the supervisor to restart the killed order service", func() bool {
		for _, c := range e.state().Components {
			if c.Name == "order" && c.Pid != order.Pid && c.Restarts == 1 && stackstate.Alive(c.Pid) {
				healed = c
				return true
			}
		}
		return false
	})
	if !stackstate.Alive(before.Pid) {
		t.Fatalf("the supervisor (pid %d) stopped after a component died", before.Pid)
	}
	// A static group member takes its partitions back at once: ready well
	// within the 45 s a dead member's session would take to time out.
	waitUntil(t, 25*time.Second, "the restarted order service to be ready", func() bool { return stackstate.Healthy(healed.Health) == nil })
	if out, _ := e.run(time.Minute, "ps"); strings.Join(psRow(out, "order")[:4], " ") != fmt.Sprintf("order running %d 1", healed.Pid) {
		t.Errorf("ps does not show order running again with 1 restart:\n%s", out)
	}
	if code, body := apitest.Call(t, http.MethodGet, payment+"/accounts/lifecycle", ""); code != http.StatusOK || body["balanceCents"] != 4242.0 {
		t.Errorf("account reads %d %v after a component restarted", code, body)
	}
	after := e.state()

	// A supervisor killed outright: its components get SIGTERM from the
	// kernel, and the next up stops whatever has not finished stopping.
	if err := syscall.Kill(after.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the killed supervisor to be gone", func() bool { return !stackstate.Alive(after.Pid) })
	out, err = e.run(8*time.Minute, "up")
	if err != nil {
		t.Fatalf("up after the supervisor was killed: %v\n%s\nstack log:\n%s", err, out, readFile(filepath.Join(e.dir, "stack.log"), 8000))
	}
	again := e.state()
	if again.Pid == after.Pid || !again.Ready {
		t.Fatalf("up after the supervisor was killed did not start a new ready stack: %+v", again)
	}
	if code, body := apitest.Call(t, http.MethodGet, payment+"/accounts/lifecycle", ""); code != http.StatusOK || body["balanceCents"] != 4242.0 {
		t.Errorf("account reads %d %v after the second restart; the data was not kept", code, body)
	}
	after.Components = append(after.Components, again.Components...)

	out, err = e.run(3*time.Minute, "down")
	if err != nil || !strings.Contains(out, "stack stopped") {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for _, c := range append(before.Components, after.Components...) {
		if stackstate.Alive(c.Pid) {
			t.Errorf("%s (pid %d) still runs after down", c.Name, c.Pid)
		}
	}
	for name, p := range e.ports {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("%s %d still accepts connections after down", name, p)
		}
	}
	if out, _ := e.run(time.Minute, "ps"); !strings.Contains(out, "no stack is up") {
		t.Errorf("ps after down: %s", out)
	}
}

// TestUpNamesATakenPortBeforeStartingAnything checks the one-line refusal.
func TestUpNamesATakenPortBeforeStartingAnything(t *testing.T) {
	e := newDetachedEnv(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", e.ports["CONNECT_PORT"]))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	out, err := e.run(time.Minute, "up")
	if err == nil {
		t.Fatalf("up succeeded with CONNECT_PORT taken:\n%s", out)
	}
	want := fmt.Sprintf("port %d is already in use", e.ports["CONNECT_PORT"])
	if !strings.Contains(out, want) || !strings.Contains(out, "CONNECT_PORT") {
		t.Errorf("up output %q does not name the port and its variable (%q)", out, want)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refusal took %s", d)
	}
	if st, _ := readState(e.dir); st != nil {
		t.Errorf("something started although a port was taken: %+v", st)
	}
}

func regexpLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == fields[0] && f[1] == fields[1] && f[len(f)-1] == fields[2] {
			return true
		}
	}
	return false
}

// psRow returns the fields of ps's line for a component (at least four).
func psRow(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == name {
			return f
		}
	}
	return make([]string, 4)
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", within, what)
		case <-tick.C:
		}
	}
}

func readFile(path string, tail int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}
