package main

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// TestSupervisorRestartsOnceHealing runs real processes: one that dies
// during start-up fails the stack; once healing, one that dies is started
// again with a new pid and a count, until the stack stops.
func TestSupervisorRestartsOnceHealing(t *testing.T) {
	backoff, backoffMax := restartBackoff, restartBackoffMax
	restartBackoff, restartBackoffMax = 10*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { restartBackoff, restartBackoffMax = backoff, backoffMax })
	var logs servicetest.LogBuffer
	sup := newSupervisor(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(sup.stopAll)
	out := &lineWriter{w: &logs}

	early, err := sup.supervise("early", command(out, "early", "sleep", nil, "60"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(early, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sup.failed:
		if !strings.Contains(err.Error(), "early exited unexpectedly") {
			t.Fatalf("failed = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a process dying during start-up was not reported")
	}

	pid, err := sup.supervise("worker", command(out, "worker", "sleep", nil, "60"))
	if err != nil {
		t.Fatal(err)
	}
	type restart struct{ pid, n int }
	restarts := make(chan restart, 4)
	sup.heal(func(name string, pid, n int) {
		if name == "worker" {
			restarts <- restart{pid, n}
		}
	})
	for want := 1; want <= 2; want++ {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-restarts:
			if r.n != want || r.pid == pid || !stackstate.Alive(r.pid) {
				t.Fatalf("restart %d: got %+v after killing pid %d; want a new live process counted %d", want, r, pid, want)
			}
			pid = r.pid
		case <-time.After(10 * time.Second):
			t.Fatalf("worker not restarted after kill %d\n%s", want, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "exited unexpectedly; restarting") || !strings.Contains(logs.String(), "restarts=2") {
		t.Errorf("no log line says what was restarted and how often:\n%s", logs.String())
	}

	sup.stopAll()
	if stackstate.Alive(pid) {
		t.Fatalf("worker pid %d alive after stopAll", pid)
	}
	select {
	case r := <-restarts:
		t.Fatalf("restarted after the stack stopped: %+v", r)
	case <-sup.failed:
		t.Fatal("a stopped process was reported as failed")
	default:
	}
}
