package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// supervisor starts the stack's processes, restarts one that dies once the
// stack is up (as compose's restart: unless-stopped does), and stops them
// in reverse order.
//
// While the stack starts, a process that exits is reported on failed:
// start-up stops and says why, rather than restarting a process that cannot
// start. After heal, a process that exits on its own is started again after
// a backoff (1 s, doubling up to 30 s while it keeps dying young), with a
// log line and its restart count.
type supervisor struct {
	log    *slog.Logger
	failed chan error // a process exited during start-up

	mu        sync.Mutex
	stops     []func()
	stopping  bool
	healing   bool
	restarted func(name string, pid, restarts int) // told of each restart once healing
	done      chan struct{}                        // closed when stopping begins
}

func newSupervisor(log *slog.Logger) *supervisor {
	return &supervisor{log: log, failed: make(chan error, 16), done: make(chan struct{})}
}

// proc is one run of a supervised process.
type proc struct {
	pid    int
	exited <-chan struct{}
	stop   func() error
}

// Backoff between restarts: a process that ran for less than
// restartResetAfter before dying waits twice as long as last time.
var (
	restartBackoff    = time.Second
	restartBackoffMax = 30 * time.Second
	restartResetAfter = 30 * time.Second
)

// heal turns on restarting: from now on a process that exits on its own is
// started again, and restarted hears of it.
func (s *supervisor) heal(restarted func(name string, pid, restarts int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healing, s.restarted = true, restarted
}

// onStop registers fn to run when the stack stops (last registered, first run).
func (s *supervisor) onStop(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops = append(s.stops, fn)
}

// supervise starts a process with start, watches it, starts it again with
// start when it dies once healing, and stops its current run when the stack
// stops.
func (s *supervisor) supervise(name string, start func() (proc, error)) (int, error) {
	p, err := start()
	if err != nil {
		return 0, err
	}
	s.log.Info("started", "process", name, "pid", p.pid)
	var (
		mu      sync.Mutex // guards cur and stopped
		cur     = p
		stopped bool
	)
	go func() {
		restarts, delay := 0, restartBackoff
		began := time.Now()
		for {
			mu.Lock()
			exited := cur.exited
			mu.Unlock()
			<-exited
			s.mu.Lock()
			stopping, healing, restarted := s.stopping, s.healing, s.restarted
			s.mu.Unlock()
			if stopping {
				return
			}
			if !healing {
				s.failed <- fmt.Errorf("%s exited unexpectedly", name)
				return
			}
			if time.Since(began) >= restartResetAfter {
				delay = restartBackoff
			}
			for {
				s.log.Warn("exited unexpectedly; restarting", "process", name, "in", delay, "restarts", restarts)
				select {
				case <-s.done:
					return
				case <-time.After(delay):
				}
				delay = min(2*delay, restartBackoffMax)
				next, err := start()
				if err != nil {
					s.log.Error("restart failed", "process", name, "err", err)
					continue
				}
				restarts++
				began = time.Now()
				mu.Lock()
				if stopped { // the stack stopped while it started
					mu.Unlock()
					_ = next.stop()
					return
				}
				cur = next
				mu.Unlock()
				s.log.Info("restarted", "process", name, "pid", next.pid, "restarts", restarts)
				if restarted != nil {
					restarted(name, next.pid, restarts)
				}
				break
			}
		}
	}()
	s.onStop(func() {
		mu.Lock()
		stopped = true
		p := cur
		mu.Unlock()
		if err := p.stop(); err != nil {
			s.log.Warn("stopping", "process", name, "err", err)
		}
		s.log.Info("stopped", "process", name)
	})
	return p.pid, nil
}

// command returns a start function for a program with extra environment,
// its output prefixed by name.
func command(out *lineWriter, name, path string, env []string, args ...string) func() (proc, error) {
	w := out.prefixed(name)
	return func() (proc, error) {
		cmd := exec.Command(path, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = w, w
		// Own process group, so a terminal Ctrl-C reaches devstack only and
		// the processes stop in order; Pdeathsig, so none outlives a killed
		// devstack.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			return proc{}, fmt.Errorf("start %s: %w", name, err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		stop := func() error {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
				return nil
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				return errors.New("did not stop in 20s; killed")
			}
		}
		return proc{pid: cmd.Process.Pid, exited: exited, stop: stop}, nil
	}
}

// stopAll stops everything started, newest first.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	if !s.stopping {
		close(s.done)
	}
	s.stopping = true
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

// lineWriter serialises whole lines from several processes onto one writer,
// each prefixed with its process's name, and keeps each process's own lines
// in logDir/<name>.log when logDir is set.
type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	logDir string
	files  []*os.File
}

func (l *lineWriter) prefixed(name string) io.Writer {
	p := &prefixWriter{l: l, prefix: []byte(fmt.Sprintf("%-9s | ", name))}
	if l.logDir != "" {
		f, err := os.OpenFile(filepath.Join(l.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			l.mu.Lock()
			l.files = append(l.files, f)
			l.mu.Unlock()
			p.file = f
		}
	}
	return p
}

// close closes the per-process log files.
func (l *lineWriter) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

type prefixWriter struct {
	l      *lineWriter
	prefix []byte
	file   *os.File
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.l.mu.Lock()
		_, err := p.l.w.Write(append(append([]byte{}, p.prefix...), p.buf[:i+1]...))
		if p.file != nil {
			_, _ = p.file.Write(p.buf[:i+1])
		}
		p.l.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}
