package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
)

// The detached stack (`make up`, `make ps`, `make logs`, `make down`): one
// devstack process supervises the stack in the background, with its state,
// data and logs in one directory (STACK_DIR, default .stack). With a Docker
// engine and the compose plugin the same commands drive compose/compose.yaml
// instead; UP_WITH=compose|local forces one.

// detached describes where the detached stack lives.
type detached struct {
	cfg  config
	with string // "local" or "compose"
	why  string // why local processes, when Docker is there but cannot run compose
	out  io.Writer
}

func newDetached(getenv func(string) string, out io.Writer) (*detached, error) {
	env := func(k string) string {
		switch k {
		case "STACK":
			return or(getenv("STACK"), stackDebezium)
		case "DEV_DIR":
			if d := getenv("STACK_DIR"); d != "" {
				return d
			}
			root, err := repoRoot()
			if err != nil {
				return ""
			}
			return filepath.Join(root, ".stack")
		}
		return getenv(k)
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	d := &detached{cfg: cfg, out: out}
	if d.with, d.why, err = chooseWith(getenv("UP_WITH"), cfg.dir); err != nil {
		return nil, err
	}
	return d, nil
}

// chooseWith picks compose or local processes: UP_WITH when set, else what
// an existing stack in dir uses, else compose only where a Docker engine
// and the compose plugin both answer. why says what a docker client on PATH
// lacks when local processes are picked despite it.
func chooseWith(upWith, dir string) (with, why string, err error) {
	switch upWith {
	case "local":
		return "local", "", nil
	case "compose":
		if err := dockerCompose(); err != nil {
			return "", "", fmt.Errorf("UP_WITH=compose: %w", err)
		}
		return "compose", "", nil
	case "":
	default:
		return "", "", fmt.Errorf("UP_WITH=%q: want compose or local", upWith)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "with")); err == nil {
		return strings.TrimSpace(string(b)), "", nil
	}
	err = dockerCompose()
	if err == nil {
		return "compose", "", nil
	}
	if errors.Is(err, errNoDocker) {
		return "local", "", nil
	}
	return "local", err.Error(), nil
}

var errNoDocker = errors.New("no docker client on PATH")

// dockerCompose reports why Docker compose cannot run here, or nil.
func dockerCompose() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errNoDocker
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "compose", "version").CombinedOutput(); err != nil {
		return fmt.Errorf("a docker client but no compose plugin (docker compose version: %s)", firstLine(strings.TrimSpace(string(out))))
	}
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Errorf("a docker client but no Docker engine answering (docker info: %s)", firstLine(strings.TrimSpace(string(out))))
	}
	return nil
}

func (d *detached) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

// up starts the stack detached and returns once it is ready.
func (d *detached) up(ctx context.Context) error {
	if d.with == "compose" {
		return d.composeUp(ctx)
	}
	st, err := readState(d.cfg.dir)
	if err != nil {
		return err
	}
	if st != nil && stackstate.Alive(st.Pid) {
		if st.Ready {
			d.printf("the %s stack is already up (devstack pid %d, state in %s); make ps shows it\n", st.Stack, st.Pid, d.cfg.dir)
			return nil
		}
		d.printf("the %s stack is already starting (devstack pid %d); following it\n", st.Stack, st.Pid)
		return d.follow(ctx, st.Pid)
	}
	if st != nil {
		// The supervising process died: stop what it left running, keep the data.
		d.stopLeftovers(st)
	}
	if err := checkPorts(d.cfg.ports()); err != nil {
		return err
	}
	if err := os.MkdirAll(d.cfg.dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.cfg.dir, "with"), []byte("local\n"), 0o644); err != nil {
		return err
	}
	if d.why != "" {
		d.printf("docker compose cannot run here: %s; using local processes (UP_WITH=compose|local picks one)\n", d.why)
	}
	pid, err := d.spawn()
	if err != nil {
		return err
	}
	d.printf("starting the %s stack as local processes (devstack pid %d, state in %s)\n", d.cfg.stack, pid, d.cfg.dir)
	return d.follow(ctx, pid)
}

// spawn starts `devstack run` in its own session, writing to stack.log.
func (d *detached) spawn() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(filepath.Join(d.cfg.dir, "stack.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	_ = os.Remove(filepath.Join(d.cfg.dir, stateFile))
	cmd := exec.Command(self, "run")
	cmd.Dir = d.cfg.root
	cmd.Env = append(os.Environ(), "STACK="+d.cfg.stack, "DEV_DIR="+d.cfg.dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start devstack run: %w", err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }() // reap it if it dies while we follow
	return pid, nil
}

// follow prints each component as it comes up and what start-up waits
// for, until the stack is ready or its supervisor exits.
func (d *detached) follow(ctx context.Context, pid int) error {
	deadline := time.Now().Add(15 * time.Minute)
	printed := map[string]bool{}
	var waiting, waitingOn string
	for {
		st, _ := readState(d.cfg.dir)
		if st != nil && st.Pid == pid {
			for _, c := range st.Components {
				if !printed[c.Name] {
					printed[c.Name] = true
					d.printf("  %-10s %-28s up after %5.1fs\n", c.Name, c.Addr, c.ReadyAfter)
				}
			}
			if st.Waiting != "" && st.Waiting != waiting {
				d.printf("  waiting for %s\n", st.Waiting)
			}
			waiting, waitingOn = st.Waiting, st.WaitingOn
			if st.Ready {
				d.printf("\n%s\nstack ready (%s, %s)\nnext: make e2e | make ps | make logs [C=connect] | make down\n",
					strings.TrimRight(st.Endpoints, "\n"), st.Stack, d.with)
				return nil
			}
		}
		if !stackstate.Alive(pid) {
			return fmt.Errorf("the stack stopped while starting (waiting for %s); last lines of its log:\n%s",
				or(waiting, "start-up"), d.lastLines(waitingOn, 25))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the stack is not ready after 15 minutes (waiting for %s); make logs shows why, make down stops it", waiting)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted; the stack goes on starting in the background (make ps, make down)")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lastLines returns the end of a component's log, or of the whole stack's.
func (d *detached) lastLines(component string, n int) string {
	paths := []string{filepath.Join(d.cfg.dir, "stack.log")}
	if component != "" {
		paths = append([]string{filepath.Join(d.cfg.dir, "logs", component+".log")}, paths...)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > n {
				lines = lines[1:]
			}
		}
		f.Close()
		if len(lines) > 0 {
			return "  " + strings.Join(lines, "\n  ")
		}
	}
	return "  (no log)"
}

// ps prints each component's state, pid, address and health.
func (d *detached) ps(ctx context.Context) error {
	if d.with == "compose" {
		return d.compose(ctx, "ps")
	}
	st, err := readState(d.cfg.dir)
	if err != nil {
		return err
	}
	if st == nil {
		d.printf("no stack is up in %s (make up starts one)\n", d.cfg.dir)
		return nil
	}
	sup := "running"
	if !stackstate.Alive(st.Pid) {
		sup = "exited"
	} else if !st.Ready {
		sup = "starting (waiting for " + st.Waiting + ")"
	}
	d.printf("%s stack, devstack pid %d: %s\n", st.Stack, st.Pid, sup)
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tSTATE\tPID\tRESTARTS\tADDRESS\tHEALTH")
	for _, c := range st.Components {
		state, health := "running", "ok"
		if !stackstate.Alive(c.Pid) {
			state, health = "exited", "-"
		} else if err := stackstate.Healthy(c.Health); err != nil {
			health = "failing: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", c.Name, state, c.Pid, c.Restarts, c.Addr, health)
	}
	return tw.Flush()
}

// down stops the stack; with volumes it also deletes its data.
func (d *detached) down(ctx context.Context, volumes bool) error {
	if d.with == "compose" {
		args := []string{"down"}
		if volumes {
			args = append(args, "-v")
		}
		if err := d.compose(ctx, args...); err != nil {
			return err
		}
		return d.forget(volumes)
	}
	st, err := readState(d.cfg.dir)
	if err != nil {
		return err
	}
	switch {
	case st == nil:
		d.printf("no stack is up in %s\n", d.cfg.dir)
	case stackstate.Alive(st.Pid):
		d.printf("stopping the %s stack (devstack pid %d)\n", st.Stack, st.Pid)
		_ = syscall.Kill(st.Pid, syscall.SIGTERM)
		deadline := time.Now().Add(3 * time.Minute)
		for stackstate.Alive(st.Pid) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		d.stopLeftovers(st)
		d.printf("stack stopped\n")
	default:
		d.stopLeftovers(st)
		_ = os.Remove(filepath.Join(d.cfg.dir, stateFile))
		d.printf("stack stopped\n")
	}
	return d.forget(volumes)
}

// forget removes the record of how the stack ran and, with volumes, its data.
func (d *detached) forget(volumes bool) error {
	_ = os.Remove(filepath.Join(d.cfg.dir, "with"))
	if volumes {
		if err := os.RemoveAll(d.cfg.dir); err != nil {
			return err
		}
		d.printf("deleted %s\n", d.cfg.dir)
	}
	return nil
}

// stopLeftovers stops the components a dead supervisor left running:
// SIGTERM, then SIGKILL after 30 s.
func (d *detached) stopLeftovers(st *stackState) {
	var left []component
	for _, c := range st.Components {
		if stackstate.Alive(c.Pid) && ownedBy(c) {
			left = append(left, c)
		}
	}
	for i := len(left) - 1; i >= 0; i-- {
		c := left[i]
		d.printf("  stopping %s (pid %d), left running by a stopped supervisor\n", c.Name, c.Pid)
		sig := syscall.SIGTERM
		if c.Name == "postgres" {
			sig = syscall.SIGINT // fast shutdown
		}
		_ = syscall.Kill(c.Pid, sig)
		deadline := time.Now().Add(30 * time.Second)
		for stackstate.Alive(c.Pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if stackstate.Alive(c.Pid) {
			_ = syscall.Kill(c.Pid, syscall.SIGKILL)
		}
	}
}

// ownedBy guards against a recycled pid: the process must still be the
// program the component ran.
func ownedBy(c component) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.Pid))
	if err != nil {
		return false
	}
	cmd := string(b)
	switch c.Name {
	case "kafka", "connect":
		return strings.Contains(cmd, "java") || strings.Contains(cmd, "/kafka")
	default:
		return strings.Contains(cmd, c.Name) || (c.Name == "postgres" && strings.Contains(cmd, "postgres"))
	}
}

// logs follows the whole stack's log, or one component's.
func (d *detached) logs(ctx context.Context, component string) error {
	if d.with == "compose" {
		args := []string{"logs", "-f"}
		if component != "" {
			args = append(args, component)
		}
		return d.compose(ctx, args...)
	}
	path := filepath.Join(d.cfg.dir, "stack.log")
	if component != "" {
		path = filepath.Join(d.cfg.dir, "logs", component+".log")
	}
	if _, err := os.Stat(path); err != nil {
		names, _ := filepath.Glob(filepath.Join(d.cfg.dir, "logs", "*.log"))
		for i, n := range names {
			names[i] = strings.TrimSuffix(filepath.Base(n), ".log")
		}
		if component != "" && len(names) > 0 {
			return fmt.Errorf("no log for %q in %s; components: %s", component, d.cfg.dir, strings.Join(names, ", "))
		}
		return fmt.Errorf("no stack log in %s (make up starts one)", d.cfg.dir)
	}
	tail, err := exec.LookPath("tail")
	if err != nil {
		return err
	}
	// Become tail, so that whoever stops `make logs` stops tail itself.
	return syscall.Exec(tail, []string{"tail", "-n", "100", "-F", path}, os.Environ())
}

// composeUp runs compose/compose.yaml detached, waits until healthy and
// registers the connectors.
func (d *detached) composeUp(ctx context.Context) error {
	if err := os.MkdirAll(d.cfg.dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.cfg.dir, "with"), []byte("compose\n"), 0o644); err != nil {
		return err
	}
	d.printf("starting the debezium stack with docker compose (compose/compose.yaml)\n")
	if err := d.compose(ctx, "up", "-d", "--build", "--wait"); err != nil {
		return err
	}
	reg := exec.CommandContext(ctx, "bash", filepath.Join(d.cfg.root, "scripts", "register-connector.sh"),
		"--url", fmt.Sprintf("http://127.0.0.1:%d", d.cfg.connectPort))
	reg.Stdout, reg.Stderr = d.out, os.Stderr
	if err := reg.Run(); err != nil {
		return fmt.Errorf("registering connectors: %w", err)
	}
	// The containers are healthy once alive (/healthz); a service is ready
	// only once its connector's replication slot exists.
	for _, port := range []int{d.cfg.orderPort, d.cfg.paymentPort, d.cfg.inventoryPort} {
		url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
		if err := waitHTTP(ctx, nil, url, 2*time.Minute); err != nil {
			return fmt.Errorf("waiting for %s: %w", url, err)
		}
	}
	d.printf("stack ready (debezium, compose); Kafka UI at http://127.0.0.1:8089, Jaeger at http://127.0.0.1:16686\nnext: make e2e | make ps | make logs [C=connect] | make down\n")
	return nil
}

func (d *detached) compose(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose", "-f", filepath.Join(d.cfg.root, "compose", "compose.yaml")}, args...)...)
	cmd.Stdout, cmd.Stderr = d.out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker compose %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
