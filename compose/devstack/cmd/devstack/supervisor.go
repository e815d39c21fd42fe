package main

import (
	"bytes"
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

// supervisor starts the stack's processes and stops them in reverse order.
type supervisor struct {
	log    *slog.Logger
	failed chan error // a process exited on its own

	mu       sync.Mutex
	stops    []func()
	stopping bool
}

func newSupervisor(log *slog.Logger) *supervisor {
	return &supervisor{log: log, failed: make(chan error, 16)}
}

// onStop registers fn to run when the stack stops (last registered, first run).
func (s *supervisor) onStop(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops = append(s.stops, fn)
}

// start runs a program with extra environment, its output prefixed by name,
// and returns its pid.
func (s *supervisor) start(out *lineWriter, name, path string, env []string, args ...string) (int, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out.prefixed(name)
	cmd.Stderr = out.prefixed(name)
	// Own process group, so a terminal Ctrl-C reaches devstack only and the
	// processes stop in order; Pdeathsig, so none outlives a killed devstack.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	s.log.Info("started", "process", name, "pid", cmd.Process.Pid)
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(exited)
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping {
			s.failed <- fmt.Errorf("%s exited unexpectedly: %v", name, err)
		}
	}()
	s.onStop(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			s.log.Warn("did not stop in 20s; killing", "process", name)
			_ = cmd.Process.Kill()
			<-exited
		}
		s.log.Info("stopped", "process", name)
	})
	return cmd.Process.Pid, nil
}

// adopt supervises a process started elsewhere: its unexpected exit fails
// the stack, and stop stops it in turn.
func (s *supervisor) adopt(name string, pid int, exited <-chan struct{}, stop func() error) {
	s.log.Info("started", "process", name, "pid", pid)
	go func() {
		<-exited
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping {
			s.failed <- fmt.Errorf("%s exited unexpectedly", name)
		}
	}()
	s.onStop(func() {
		if err := stop(); err != nil {
			s.log.Warn("stopping", "process", name, "err", err)
		}
		s.log.Info("stopped", "process", name)
	})
}

// stopAll stops everything started, newest first.
func (s *supervisor) stopAll() {
	s.mu.Lock()
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
