package connect_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// TestDeleteDropsSlotDuringBackoff: a connector with
// slot.drop.on.stop=true deleted while its task waits to reconnect still
// has its slot dropped.
func TestDeleteDropsSlotDuringBackoff(t *testing.T) {
	f := newFixture(t)
	if code := f.call("PUT", "/connectors/d/config", f.config("d", "slot.drop.on.stop", "true"), nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	f.waitTask("d", "RUNNING")
	f.waitSlotActive("d", true)

	// Take the slot: the task loses its stream and finds the slot busy at
	// every reconnect.
	held := f.takeSlot("d", "d")
	waitUntil(t, "a failed reconnect", func() bool {
		return testutil.ToFloat64(f.metrics.TaskRetries.WithLabelValues("d")) >= 2
	})
	if s := f.status("d"); s.Tasks[0].State != "RUNNING" {
		t.Fatalf("status while reconnecting: %+v", s)
	}

	deleted := make(chan error, 1)
	go func() { deleted <- f.worker.Delete(context.Background(), "d") }()
	// Once the task is stopped, it has nothing left to do but drop the
	// slot, which it can as soon as the test lets go of it.
	waitUntil(t, "the task to be stopped", func() bool {
		var s status
		code := f.call("GET", "/connectors/d/status", nil, &s)
		return code == 404 || (len(s.Tasks) == 1 && s.Tasks[0].State == "UNASSIGNED")
	})
	_ = held.Close(t.Context())
	select {
	case err := <-deleted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("DELETE did not return")
	}
	waitUntil(t, "the slot to be dropped", func() bool {
		var n int
		if err := f.db.QueryRow(t.Context(), `SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'd'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// takeSlot ends the replication connection streaming slot and streams it
// from a connection of the test's own (closed at the end of the test at
// the latest).
func (f *fixture) takeSlot(slot, publication string) *replication.Conn {
	f.t.Helper()
	var held *replication.Conn
	waitUntil(f.t, "the test to hold slot "+slot, func() bool {
		if _, err := f.db.Exec(f.t.Context(), `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`, slot); err != nil {
			f.t.Fatal(err)
		}
		rc, err := replication.Connect(f.t.Context(), f.dsn)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := rc.Start(f.t.Context(), slot, 0, replication.StartOptions{Publication: publication}); err != nil {
			_ = rc.Close(f.t.Context())
			return false
		}
		held = rc
		return true
	})
	f.t.Cleanup(func() { _ = held.Close(context.Background()) })
	return held
}

// waitUntil polls cond until it holds, failing the test after 30s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
