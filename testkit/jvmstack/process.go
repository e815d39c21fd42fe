package jvmstack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one running JVM.
type process struct {
	name    string
	cmd     *exec.Cmd
	tail    *Tail
	logFile *os.File
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// jvmOptions are Kafka's own performance flags (bin/kafka-run-class.sh)
// with a heap cap fitting a small machine.
func jvmOptions(heapMin, heapMax string) []string {
	return []string{
		"-Xms" + heapMin, "-Xmx" + heapMax,
		"-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
		"-XX:+ExplicitGCInvokesConcurrent", "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
	}
}

// startJava runs mainClass with the jars of libDir on the classpath. Its
// output goes to out (when set) and to dir/<name>.log.
func startJava(name, libDir, dir string, out io.Writer, env, jvmArgs []string, mainClass string, args ...string) (*process, error) {
	java, err := javaPath()
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	p := &process{name: name, tail: NewTail(16 << 10), logFile: logFile, exited: make(chan struct{})}
	writers := []io.Writer{p.tail, logFile}
	if out != nil {
		writers = append(writers, out)
	}
	w := io.MultiWriter(writers...)
	all := append(append([]string{}, jvmArgs...), "-cp", filepath.Join(libDir, "*"), mainClass)
	p.cmd = exec.Command(java, append(all, args...)...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	// Own process group, so a terminal's Ctrl-C reaches our process only and
	// the JVMs stop in order; Pdeathsig, so none outlives its parent.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("jvmstack: start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// runJava runs a short-lived tool to completion and returns its output.
func runJava(ctx context.Context, libDir, dir string, mainClass string, args ...string) (string, error) {
	java, err := javaPath()
	if err != nil {
		return "", err
	}
	all := append([]string{"-Xmx256m", "-cp", filepath.Join(libDir, "*"), mainClass}, args...)
	cmd := exec.CommandContext(ctx, java, all...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("jvmstack: %s %s: %w\n%s", mainClass, strings.Join(args, " "), err, tailBytes(out, 4000))
	}
	return string(out), nil
}

// waitReady polls check until it succeeds, the process exits, ctx ends or
// within passes.
func (p *process) waitReady(ctx context.Context, within time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("jvmstack: %s exited before it was ready (%v); last output:\n%s", p.name, p.waitErr, p.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("jvmstack: %s not ready within %s (%v); last output:\n%s", p.name, within, err, p.tail.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it.
func (p *process) stop(grace time.Duration) error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("jvmstack: %s did not stop within %s of SIGTERM; killed", p.name, grace)
		}
	})
	return p.stopErr
}

// kill ends the process at once, as a crash would.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Tail is an io.Writer that keeps the last bytes written to it, for the
// end of a process's output in an error; safe for concurrent use.
type Tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

// NewTail returns a Tail that keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

// String returns the bytes kept.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// writeLog4j writes a Log4j2 configuration that logs to the console at
// level, with extra per-logger levels.
func writeLog4j(path, level string, loggers map[string]string) error {
	var b strings.Builder
	b.WriteString("status = warn\n")
	b.WriteString("appender.console.type = Console\nappender.console.name = STDOUT\n")
	b.WriteString("appender.console.layout.type = PatternLayout\n")
	b.WriteString("appender.console.layout.pattern = %d{HH:mm:ss.SSS} %-5p [%c{1}] %m%n\n")
	b.WriteString("rootLogger.level = " + level + "\nrootLogger.appenderRef.console.ref = STDOUT\n")
	i := 0
	for _, name := range sortedKeys(loggers) {
		i++
		fmt.Fprintf(&b, "logger.l%d.name = %s\nlogger.l%d.level = %s\n", i, name, i, loggers[name])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeProperties writes a Java properties file in key order.
func writeProperties(path string, props map[string]string) error {
	var b strings.Builder
	for _, k := range sortedKeys(props) {
		fmt.Fprintf(&b, "%s=%s\n", k, escapeProperty(props[k]))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func escapeProperty(v string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(v)
}
