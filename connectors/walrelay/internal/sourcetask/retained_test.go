package sourcetask_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
)

// TestTaskRetainedWALWhileNotStreaming: the retained-WAL gauge keeps
// following the slot when the task no longer streams it, waiting to
// reconnect or FAILED, which is when WAL piles up.
func TestTaskRetainedWALWhileNotStreaming(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		// stall stops the streaming task from reading the slot.
		stall func(e *env, task *sourcetask.Task, m *metrics.Metrics)
	}{
		{"reconnect backoff", nil, func(e *env, task *sourcetask.Task, m *metrics.Metrics) {
			e.takeSlot()
			waitFor(e.t, 30*time.Second, "a failed reconnect", func() bool {
				return counterValue(m.TaskRetries.WithLabelValues("outbox-test")) >= 2
			})
			if st, trace := task.Status(); st != sourcetask.StateRunning {
				e.t.Fatalf("task %s while reconnecting: %s", st, trace)
			}
		}},
		{"failed", []string{"transforms.outbox.table.fields.additional.placement", "part:partition"}, func(e *env, task *sourcetask.Task, _ *metrics.Metrics) {
			e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, part) VALUES (gen_random_uuid(), 'order', 'k', 'T', '{}', -1)`)
			select {
			case <-task.Done():
			case <-time.After(30 * time.Second):
				e.t.Fatal("task still running after a negative partition")
			}
			if st, _ := task.Status(); st != sourcetask.StateFailed {
				e.t.Fatalf("task %s, want FAILED", st)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.exec(`ALTER TABLE outbox ADD COLUMN part int`)
			e.exec(`CREATE TABLE ballast (id int PRIMARY KEY, v text)`)
			e.slotCheck = 50 * time.Millisecond
			task, m := e.start(tt.extra...)
			e.waitStreaming(task)
			tt.stall(e, task, m)

			// Nothing reads the slot now: its restart_lsn stays, and
			// what it retains only grows.
			e.exec(`INSERT INTO ballast SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g`)
			s, ok := e.slot()
			if !ok {
				t.Fatal("slot gone")
			}
			gauge := m.RetainedWAL.WithLabelValues("outbox-test", "outbox_test")
			waitFor(t, 30*time.Second, "the gauge to show the WAL written since the task stopped streaming", func() bool {
				return testutil.ToFloat64(gauge) >= float64(s.RetainedBytes)
			})
		})
	}
}

// takeSlot ends the task's replication connection and streams the slot
// from a connection of the test's own, closed when the test ends, so the
// task finds the slot busy at every reconnect.
func (e *env) takeSlot() {
	e.t.Helper()
	slot := e.props["slot.name"]
	var held *replication.Conn
	waitFor(e.t, 30*time.Second, "the test to hold the slot", func() bool {
		e.exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`, slot)
		rc, err := replication.Connect(e.t.Context(), e.dsn)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := rc.Start(e.t.Context(), slot, 0, replication.StartOptions{Publication: e.props["publication.name"]}); err != nil {
			_ = rc.Close(e.t.Context())
			return false
		}
		held = rc
		return true
	})
	e.t.Cleanup(func() { _ = held.Close(context.Background()) })
}
