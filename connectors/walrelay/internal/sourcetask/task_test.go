package sourcetask_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is one test's database and broker.
type env struct {
	t       *testing.T
	dsn     string
	conn    *pgx.Conn
	brokers string
	props   map[string]string
	// slotCheck is the tasks' SlotCheckInterval (0 for the default).
	slotCheck time.Duration
	// silence is the tasks' Silence (0 for the default).
	silence time.Duration
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), outbox.Schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	e := &env{t: t, dsn: dsn, conn: conn, brokers: kafkatest.Start(t)}
	e.props = map[string]string{
		"name":                        "outbox-test",
		"connector.class":             sourcetask.ConnectorClass,
		"database.hostname":           u.Hostname(),
		"database.port":               u.Port(),
		"database.user":               u.User.Username(),
		"database.password":           pw,
		"database.dbname":             strings.TrimPrefix(u.Path, "/"),
		"database.sslmode":            "disable",
		"plugin.name":                 "pgoutput",
		"topic.prefix":                "app",
		"slot.name":                   "outbox_test",
		"publication.name":            "outbox_test",
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.outbox`,
		"snapshot.mode":               "no_data",
		"extended.headers.enabled":    "false",
		"key.converter":               "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":             "org.apache.kafka.connect.storage.StringConverter",
		"status.update.interval.ms":   "200",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
	}
	return e
}

func (e *env) start(extra ...string) (*sourcetask.Task, *metrics.Metrics) {
	e.t.Helper()
	return e.startWith(nil, extra...)
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.conn.Exec(e.t.Context(), sql, args...); err != nil {
		e.t.Fatalf("exec %q: %v", sql, err)
	}
}

// insert writes outbox rows for aggregate type "order", one per key, in
// one transaction.
func (e *env) insert(keys ...string) {
	e.t.Helper()
	tx, err := e.conn.Begin(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := tx.Exec(e.t.Context(),
			`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', $1, 'OrderCreated', $2)`,
			k, fmt.Sprintf(`{"key": %q}`, k)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := tx.Commit(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) slot() (replication.Slot, bool) {
	e.t.Helper()
	s, ok, err := replication.SlotState(e.t.Context(), e.conn, e.props["slot.name"])
	if err != nil {
		e.t.Fatal(err)
	}
	return s, ok
}

func (e *env) walLSN() pgoutput.LSN {
	e.t.Helper()
	var s string
	if err := e.conn.QueryRow(e.t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	l, err := pgoutput.ParseLSN(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// waitSlotCreationBlocked waits until the test's slot is being created and
// its creation waits for a transaction to end.
func (e *env) waitSlotCreationBlocked() {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, "the slot's creation to wait for the open transaction", func() bool {
		waiting, err := pgtest.SlotCreationWaits(e.t.Context(), e.conn, e.props["slot.name"])
		if err != nil {
			e.t.Fatal(err)
		}
		return waiting
	})
}

// waitFor polls cond on a short ticker until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", within, what)
		case <-tick.C:
		}
	}
}

func (e *env) waitStreaming(task *sourcetask.Task) {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, "the slot to be streamed", func() bool {
		if st, trace := task.Status(); st != sourcetask.StateRunning && st != sourcetask.StateStarting {
			e.t.Fatalf("task %s: %s", st, trace)
		}
		s, ok := e.slot()
		return ok && s.Active && s.ConfirmedFlush != 0
	})
}

// hasRecords reports each of want (key=value) that recs lack; recs may
// hold more, duplicates too.
func hasRecords(t *testing.T, recs []*kgo.Record, want ...string) {
	t.Helper()
	got := values(recs)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing record %s in %v", w, got)
		}
	}
}

func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Key) + "=" + string(r.Value)
	}
	return out
}

func TestTaskStreamsAndConfirms(t *testing.T) {
	e := newEnv(t)
	task, m := e.start()
	e.waitStreaming(task)

	before := e.walLSN()
	e.insert("1", "2")
	e.insert("3")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 3, 30*time.Second)
	hasRecords(t, recs, `1={"key": "1"}`, `2={"key": "2"}`, `3={"key": "3"}`)
	for _, r := range recs {
		if len(r.Headers) != 1 || r.Headers[0].Key != "id" || len(r.Headers[0].Value) != 36 {
			t.Errorf("headers %v, want one id header", r.Headers)
		}
	}

	// The slot moves past the inserts once the broker acknowledged them.
	waitFor(t, 30*time.Second, "the slot to confirm the inserts", func() bool {
		s, _ := e.slot()
		return s.ConfirmedFlush > before
	})
	waitFor(t, 10*time.Second, "the produced counter", func() bool {
		return counterValue(m.EventsProduced.WithLabelValues("outbox-test", "outbox.event.order")) == 3
	})
	// Two transactions, two commit-to-ack observations.
	waitFor(t, 10*time.Second, "two commit-to-ack samples", func() bool {
		var lag dto.Metric
		if err := m.CommitToAck.WithLabelValues("outbox-test").(prometheus.Histogram).Write(&lag); err != nil {
			t.Fatal(err)
		}
		if n := lag.GetHistogram().GetSampleCount(); n > 2 {
			t.Fatalf("commit-to-ack samples %d, want 2", n)
		}
		return lag.GetHistogram().GetSampleCount() == 2
	})

	// Changes to tables outside the include list are not routed, and an
	// idle outbox still lets the slot advance past them.
	e.exec(`CREATE TABLE other (id int PRIMARY KEY, v text)`)
	e.exec(`INSERT INTO other SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g`)
	after := e.walLSN()
	waitFor(t, 30*time.Second, "the slot to confirm past unrelated WAL", func() bool {
		s, _ := e.slot()
		return s.ConfirmedFlush >= after
	})
	if st, trace := task.Status(); st != sourcetask.StateRunning {
		t.Fatalf("task %s: %s", st, trace)
	}
}

// A task is RUNNING only once its slot exists, so a row committed after
// that is captured even when creating the slot takes long. Creating a
// logical slot waits for every transaction holding an id to end; the test
// holds one open to keep the task between the two.
func TestTaskRunningOnlyOnceTheSlotExists(t *testing.T) {
	e := newEnv(t)
	release := pgtest.HoldTransactionID(t, e.dsn)

	task, _ := e.start()
	e.waitSlotCreationBlocked()
	if st, trace := task.Status(); st != sourcetask.StateStarting {
		t.Fatalf("task %s %q while its slot is being created, want %s", st, trace, sourcetask.StateStarting)
	}

	release()
	waitFor(t, 30*time.Second, "the task to run", func() bool {
		st, trace := task.Status()
		if st != sourcetask.StateStarting && st != sourcetask.StateRunning {
			t.Fatalf("task %s: %s", st, trace)
		}
		return st == sourcetask.StateRunning
	})
	if _, ok := e.slot(); !ok {
		t.Fatal("task RUNNING without its slot")
	}
	e.insert("after-running")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
	if string(recs[0].Key) != "after-running" {
		t.Fatalf("record %s", values(recs))
	}
}

// A task stopped while PostgreSQL is still creating its slot stops at once
// and leaves no slot behind: deleting a connector whose registration
// hangs on a session idle in a transaction must not hang too.
func TestTaskStopsWhileItsSlotIsBeingCreated(t *testing.T) {
	e := newEnv(t)
	pgtest.HoldTransactionID(t, e.dsn)
	task, _ := e.start()
	e.waitSlotCreationBlocked()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := task.Stop(ctx); err != nil {
		t.Fatalf("stop while the slot is being created: %v", err)
	}
	if st, trace := task.Status(); st != sourcetask.StateStopped {
		t.Fatalf("task %s %q after Stop, want %s", st, trace, sourcetask.StateStopped)
	}
	waitFor(t, 30*time.Second, "the half-created slot to be gone", func() bool {
		_, ok := e.slot()
		return !ok
	})
}

func TestTaskSnapshotInitial(t *testing.T) {
	e := newEnv(t)
	e.insert("a", "b")
	task, _ := e.start("snapshot.mode", "initial")
	e.waitStreaming(task)
	e.insert("c")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 3, 30*time.Second)
	got := strings.Join(sortedValues(recs), ",")
	if got != `a={"key": "a"},b={"key": "b"},c={"key": "c"}` {
		t.Fatalf("records %s", got)
	}
}

func sortedValues(recs []*kgo.Record) []string {
	v := values(recs)
	for i := range v {
		for j := i + 1; j < len(v); j++ {
			if v[j] < v[i] {
				v[i], v[j] = v[j], v[i]
			}
		}
	}
	return v
}

// TestTaskStopAndResume stops a task gracefully, writes while it is
// stopped, and starts a new one: everything arrives exactly once because
// the stop confirmed all acknowledged records.
func TestTaskStopAndResume(t *testing.T) {
	e := newEnv(t)
	task, _ := e.start()
	e.waitStreaming(task)
	e.insert("1")
	kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := task.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := task.Status(); st != sourcetask.StateStopped {
		t.Fatalf("state after Stop: %s", st)
	}
	waitFor(t, 30*time.Second, "the walsender to release the slot", func() bool {
		s, ok := e.slot()
		return ok && !s.Active
	})
	e.insert("2")
	task2, _ := e.start()
	e.waitStreaming(task2)
	e.insert("3")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 3, 30*time.Second)
	// Give a duplicate a chance to show up behind the third record.
	e.insert("4")
	recs = kafkatest.Consume(t, e.brokers, "outbox.event.order", 4, 30*time.Second)
	if got := strings.Join(sortedValues(recs), ","); got != `1={"key": "1"},2={"key": "2"},3={"key": "3"},4={"key": "4"}` {
		t.Fatalf("records after a graceful restart: %s", got)
	}
}

// TestTaskWaitsForBusySlot starts while another connection streams the
// slot: the task keeps retrying and takes over once the slot is free.
func TestTaskWaitsForBusySlot(t *testing.T) {
	e := newEnv(t)
	e.exec(`CREATE PUBLICATION outbox_test FOR TABLE outbox`)
	rc, err := replication.Connect(t.Context(), e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	created, err := rc.CreateSlot(t.Context(), "outbox_test", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(t.Context(), "outbox_test", created.ConsistentPoint, replication.StartOptions{Publication: "outbox_test"}); err != nil {
		t.Fatal(err)
	}
	task, m := e.start("retriable.restart.connector.wait.ms", "300")
	waitFor(t, 30*time.Second, "a retry", func() bool {
		return counterValue(m.TaskRetries.WithLabelValues("outbox-test")) >= 1
	})
	if st, trace := task.Status(); st != sourcetask.StateRunning {
		t.Fatalf("task %s while the slot is busy: %s", st, trace)
	}
	_ = rc.Close(t.Context())
	e.insert("x")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
	if string(recs[0].Key) != "x" {
		t.Fatalf("record %s", values(recs))
	}
}

func TestTaskFailsWithClearTrace(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		setup string
		want  string
	}{
		{"publication must exist", []string{"publication.autocreate.mode", "disabled"}, "",
			`org.apache.kafka.connect.errors.ConnectException: replication: publication: publication "outbox_test" does not exist`},
		{"slot of another plugin", nil, `SELECT pg_create_logical_replication_slot('outbox_test', 'test_decoding')`,
			`uses plugin "test_decoding"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != "" {
				e.exec(tt.setup)
			}
			task, m := e.start(tt.extra...)
			select {
			case <-task.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("task did not end")
			}
			st, trace := task.Status()
			if st != sourcetask.StateFailed || !strings.Contains(trace, tt.want) {
				t.Fatalf("status %s %q, want FAILED with %q", st, trace, tt.want)
			}
			if counterValue(m.TaskFailures.WithLabelValues("outbox-test")) != 1 {
				t.Fatal("failure not counted")
			}
		})
	}
}

func TestTaskDropsSlotOnStop(t *testing.T) {
	e := newEnv(t)
	task, _ := e.start("slot.drop.on.stop", "true")
	e.waitStreaming(task)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := task.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.slot(); ok {
		t.Fatal("slot kept despite slot.drop.on.stop=true")
	}
}

func TestTaskPublishesOnlyUnskippedOperations(t *testing.T) {
	e := newEnv(t)
	task, _ := e.start("skipped.operations", "u,d,t")
	e.waitStreaming(task)
	var ins, upd, del, trunc bool
	if err := e.conn.QueryRow(t.Context(), `SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = 'outbox_test'`).Scan(&ins, &upd, &del, &trunc); err != nil {
		t.Fatal(err)
	}
	if !ins || upd || del || trunc {
		t.Fatalf("publication publishes insert=%v update=%v delete=%v truncate=%v", ins, upd, del, trunc)
	}
}

func counterValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// TestTaskKeyChangeAndMessages: an UPDATE that changes the primary key is
// routed as a new event carrying the old key (Debezium's delete + create),
// a plain UPDATE is dropped, and logical decoding messages reach
// <topic.prefix>.message unless their prefix is excluded.
func TestTaskKeyChangeAndMessages(t *testing.T) {
	e := newEnv(t)
	e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ('00000000-0000-0000-0000-000000000001', 'order', 'k', 'T', '{}')`)
	task, _ := e.start("message.prefix.exclude.list", "heartbeat")
	e.waitStreaming(task)

	e.exec(`UPDATE outbox SET type = 'T2'`)
	e.exec(`UPDATE outbox SET id = '00000000-0000-0000-0000-000000000002'`)
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
	r := recs[0]
	headers := map[string]string{}
	for _, h := range r.Headers {
		headers[h.Key] = string(h.Value)
	}
	if headers["id"] != "00000000-0000-0000-0000-000000000002" || headers["__debezium.oldkey"] == "" {
		t.Fatalf("key-changing update: headers %v", headers)
	}

	e.exec(`SELECT pg_logical_emit_message(false, 'heartbeat', 'skip me')`)
	e.exec(`SELECT pg_logical_emit_message(true, 'audit', 'hello')`)
	kafkatest.Consume(t, e.brokers, "app.message", 1, 30*time.Second)
	// One more key-changing update proves the stream went past both
	// messages; only the audit message may be on the topic.
	e.exec(`UPDATE outbox SET id = '00000000-0000-0000-0000-000000000003'`)
	if all := kafkatest.Consume(t, e.brokers, "outbox.event.order", 2, 30*time.Second); len(all) != 2 {
		t.Fatalf("%d records for two key changes and a plain update, want 2", len(all))
	}
	msgs := kafkatest.Consume(t, e.brokers, "app.message", 1, 30*time.Second)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Value), "audit") {
		t.Fatalf("message records: %d, first %q", len(msgs), msgs[0].Value)
	}
}

// TestTaskPartitionPlacement: a partition placement puts the record on
// that partition; one the topic does not have fails the task with a clear
// trace instead of blocking as Kafka Connect's producer would.
func TestTaskPartitionPlacement(t *testing.T) {
	e := newEnv(t)
	e.exec(`ALTER TABLE outbox ADD COLUMN part int`)
	task, _ := e.start("transforms.outbox.table.fields.additional.placement", "part:partition")
	e.waitStreaming(task)
	e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, part) VALUES (gen_random_uuid(), 'order', '42', 'T', '{}', 2)`)
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
	if recs[0].Partition != 2 {
		t.Fatalf("partition %d, want 2", recs[0].Partition)
	}
	e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, part) VALUES (gen_random_uuid(), 'order', '42', 'T', '{}', 7)`)
	select {
	case <-task.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("task still running after producing to a partition that does not exist")
	}
	st, trace := task.Status()
	if st != sourcetask.StateFailed || !strings.Contains(trace, "partition 7, which the topic does not have") {
		t.Fatalf("status %s, trace %q", st, trace)
	}
	// The failed task let go of the slot, so a restart can resume it.
	waitFor(t, 30*time.Second, "the slot to be released", func() bool {
		s, ok := e.slot()
		return ok && !s.Active
	})
}

// marks is an in-memory sourcetask.SnapshotMarks.
type marks struct {
	mu      sync.Mutex
	pending map[string]bool
	writes  []bool
}

func (m *marks) SetSnapshotPending(_ context.Context, name string, p bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending[name] = p
	m.writes = append(m.writes, p)
	return nil
}

func (m *marks) SnapshotPending(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending[name]
}

// TestTaskSnapshotMarks: a first start with snapshot.mode=initial notes
// the snapshot while reading it; a start that finds the note (the process
// died mid-snapshot) reads the tables again before streaming.
func TestTaskSnapshotMarks(t *testing.T) {
	t.Run("fresh slot", func(t *testing.T) {
		e := newEnv(t)
		e.insert("a")
		m := &marks{pending: map[string]bool{}}
		task, _ := e.startWith(m, "snapshot.mode", "initial")
		e.waitStreaming(task)
		kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)
		m.mu.Lock()
		defer m.mu.Unlock()
		if fmt.Sprint(m.writes) != "[true false]" || m.pending["outbox-test"] {
			t.Fatalf("snapshot notes %v", m.writes)
		}
	})
	t.Run("interrupted snapshot", func(t *testing.T) {
		e := newEnv(t)
		e.insert("before-slot")
		e.exec(`CREATE PUBLICATION outbox_test FOR TABLE outbox`)
		rc, err := replication.Connect(t.Context(), e.dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.CreateSlot(t.Context(), "outbox_test", true); err != nil {
			t.Fatal(err)
		}
		_ = rc.Close(t.Context())
		e.insert("after-slot")
		m := &marks{pending: map[string]bool{"outbox-test": true}}
		task, _ := e.startWith(m, "snapshot.mode", "initial")
		e.waitStreaming(task)
		recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 3, 30*time.Second)
		got := strings.Join(sortedValues(recs), ",")
		// after-slot arrives twice: from the new snapshot and the stream.
		if got != `after-slot={"key": "after-slot"},after-slot={"key": "after-slot"},before-slot={"key": "before-slot"}` {
			t.Fatalf("records %s", got)
		}
		if m.SnapshotPending("outbox-test") {
			t.Fatal("note not cleared")
		}
	})
}

// startWith starts a task with extra config (key, value pairs) and, when
// m is not nil, snapshot notes.
func (e *env) startWith(m sourcetask.SnapshotMarks, extra ...string) (*sourcetask.Task, *metrics.Metrics) {
	e.t.Helper()
	for i := 0; i < len(extra); i += 2 {
		e.props[extra[i]] = extra[i+1]
	}
	cfg, errs := sourcetask.ParseConfig(e.props)
	if len(errs) > 0 {
		e.t.Fatalf("config: %v", errs)
	}
	met := metrics.New(prometheus.NewRegistry())
	task := sourcetask.Start(cfg, sourcetask.Options{
		Brokers:           []string{e.brokers},
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:           met,
		SnapshotMarks:     m,
		SlotCheckInterval: e.slotCheck,
		Silence:           e.silence,
	})
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = task.Stop(ctx)
	})
	return task, met
}

// TestTaskUnchangedToast: a key-changing update leaves an unchanged
// TOASTed payload out of the new row. Without REPLICA IDENTITY FULL the
// record carries the unavailable-value placeholder; with it the old row
// carries the value and the record has it, as with Debezium.
func TestTaskUnchangedToast(t *testing.T) {
	e := newEnv(t)
	e.exec(`ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL`)
	big := `{"a": "` + strings.Repeat("x", 20000) + `"}`
	e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES ('00000000-0000-0000-0000-000000000001', 'order', 'k', 'T', $1)`, big)
	task, _ := e.start()
	e.waitStreaming(task)

	e.exec(`UPDATE outbox SET id = '00000000-0000-0000-0000-000000000002'`)
	e.exec(`ALTER TABLE outbox REPLICA IDENTITY FULL`)
	e.exec(`UPDATE outbox SET id = '00000000-0000-0000-0000-000000000003'`)
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 2, 30*time.Second)
	if got := string(recs[0].Value); got != "__debezium_unavailable_value" {
		t.Errorf("default replica identity: value %.60q, want the placeholder", got)
	}
	if got := string(recs[1].Value); got != big {
		t.Errorf("REPLICA IDENTITY FULL: value %.60q (%d bytes), want the old row's payload", got, len(got))
	}
}

// TestTaskDeliversRecordsBeforeAFailure: the records routed before the one
// that fails the task still reach the broker, as with Kafka Connect.
func TestTaskDeliversRecordsBeforeAFailure(t *testing.T) {
	e := newEnv(t)
	e.exec(`ALTER TABLE outbox ADD COLUMN part int`)
	task, _ := e.start("transforms.outbox.table.fields.additional.placement", "part:partition")
	e.waitStreaming(task)
	const n = 200
	e.exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, part)
		SELECT gen_random_uuid(), 'order', g::text, 'T', '{}', CASE WHEN g > $1 THEN -1 END FROM generate_series(1, $1 + 1) g`, n)
	select {
	case <-task.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("task still running after a negative partition")
	}
	if st, trace := task.Status(); st != sourcetask.StateFailed || !strings.Contains(trace, "Invalid partition: -1") {
		t.Fatalf("status %s, trace %q", st, trace)
	}
	if recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", n, 30*time.Second); len(recs) != n {
		t.Fatalf("%d records before the failing row, want %d", len(recs), n)
	}
}

// TestTaskMessageSourceInfo: a logical decoding message that is not
// transactional keeps the commit time of the transaction before it and
// counts as the last commit for the messages after it, as in Debezium's
// source info.
func TestTaskMessageSourceInfo(t *testing.T) {
	e := newEnv(t)
	task, _ := e.start("value.converter", "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable", "false")
	e.waitStreaming(task)
	inTx := func(sql string) {
		tx, err := e.conn.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	inTx(`SELECT pg_logical_emit_message(true, 'audit', 'a')`)
	e.exec(`SELECT pg_logical_emit_message(false, 'audit', 'b')`)
	inTx(`SELECT pg_logical_emit_message(true, 'audit', 'c')`)
	recs := kafkatest.Consume(t, e.brokers, "app.message", 3, 30*time.Second)
	type source struct {
		TsMs     int64  `json:"ts_ms"`
		TxID     *int64 `json:"txId"`
		LSN      int64  `json:"lsn"`
		Sequence string `json:"sequence"`
	}
	var src [3]source
	for i, r := range recs {
		var v struct {
			Source source `json:"source"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("message %d: %v: %s", i, err, r.Value)
		}
		src[i] = v.Source
	}
	if src[1].TsMs != src[0].TsMs || src[1].TxID != nil {
		t.Errorf("non-transactional message: ts_ms %d txId %v, want the previous transaction's ts_ms %d and no txId", src[1].TsMs, src[1].TxID, src[0].TsMs)
	}
	b := strconv.FormatInt(src[1].LSN, 10)
	if want := `["` + b + `","` + b + `"]`; src[1].Sequence != want {
		t.Errorf("non-transactional message: sequence %s, want %s", src[1].Sequence, want)
	}
	if want := `["` + b + `","` + strconv.FormatInt(src[2].LSN, 10) + `"]`; src[2].Sequence != want {
		t.Errorf("message after a non-transactional one: sequence %s, want %s", src[2].Sequence, want)
	}
}

// TestTaskReconnectsWhenTheServerFallsSilent stops the walsender of a
// task's stream (SIGSTOP: the connection stays open, nothing more comes
// through it, as when a network drops a connection without a word). The
// task gives up on the stream after its silence limit, and once the
// walsender can end, streams again from the slot: nothing is lost. Before
// that, an idle stream whose server answers keeps its connection.
func TestTaskReconnectsWhenTheServerFallsSilent(t *testing.T) {
	e := newEnv(t)
	e.silence = time.Second
	task, m := e.start()
	e.waitStreaming(task)
	retries := func() float64 { return counterValue(m.TaskRetries.WithLabelValues("outbox-test")) }

	// Idle for three silence limits: each time halfway the task asks for a
	// reply, the server sends one, and the stream goes on.
	idle := time.After(3 * e.silence)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for quiet := true; quiet; {
		select {
		case <-idle:
			quiet = false
		case <-tick.C:
		}
		if n := retries(); n != 0 {
			t.Fatalf("an idle stream was given up %v times", n)
		}
	}
	e.insert("1")
	kafkatest.Consume(t, e.brokers, "outbox.event.order", 1, 30*time.Second)

	var walsender int
	if err := e.conn.QueryRow(t.Context(), `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active`,
		e.props["slot.name"]).Scan(&walsender); err != nil {
		t.Fatalf("the slot's walsender: %v", err)
	}
	if err := syscall.Kill(walsender, syscall.SIGSTOP); err != nil {
		t.Fatalf("stopping the walsender: %v", err)
	}
	resume := sync.OnceFunc(func() {
		if err := syscall.Kill(walsender, syscall.SIGCONT); err != nil {
			t.Errorf("resuming the walsender: %v", err)
		}
	})
	t.Cleanup(resume)
	e.insert("2")
	waitFor(t, 30*time.Second, "the task to give up on its silent stream", func() bool { return retries() >= 1 })
	// The stopped walsender still holds the slot; resumed, it finds its
	// client gone and ends, and the task's next attempt takes the slot.
	resume()
	e.insert("3")
	recs := kafkatest.Consume(t, e.brokers, "outbox.event.order", 3, 60*time.Second)
	hasRecords(t, recs, `1={"key": "1"}`, `2={"key": "2"}`, `3={"key": "3"}`)
	if st, trace := task.Status(); st != sourcetask.StateRunning {
		t.Fatalf("task %s: %s", st, trace)
	}
}
