package runtime

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// Task states, as Kafka Connect reports them.
const (
	StateRunning = "RUNNING"
	StateFailed  = "FAILED"
	// StateStopped is a task that ended because it was asked to; the
	// caller decides how to present it (PAUSED, UNASSIGNED, ...).
	StateStopped = "STOPPED"
)

// Options are what a task needs besides its connector config.
type Options struct {
	// Brokers are the bootstrap servers.
	Brokers []string
	// Worker holds the worker-level converter defaults.
	Worker eventrouter.Worker
	// Logger receives the task's log; required.
	Logger *slog.Logger
	// Metrics receives the task's metrics; required.
	Metrics *metrics.Metrics
	// ProducerOpts are appended to the producer's options.
	ProducerOpts []kgo.Opt
	// ShutdownTimeout bounds the flush on Stop (default 30s).
	ShutdownTimeout time.Duration
	// SnapshotMarks, when set, keeps a durable note while an initial
	// snapshot is being read, so one interrupted by a crash is read again.
	SnapshotMarks SnapshotMarks
}

// SnapshotMarks stores, durably, that a connector's initial snapshot has
// started and not yet been acknowledged in full.
type SnapshotMarks interface {
	// SetSnapshotPending writes (pending) or clears the note.
	SetSnapshotPending(ctx context.Context, connector string, pending bool) error
	// SnapshotPending reports whether the note is set.
	SnapshotPending(connector string) bool
}

// Task streams one connector: WAL → router → Kafka, confirming positions
// to the slot once the broker acknowledged everything before them.
type Task struct {
	cfg  Config
	opts Options
	log  *slog.Logger

	stop       context.CancelFunc
	done       chan struct{}
	dropOnStop atomic.Bool

	mu    sync.Mutex
	state string
	trace string
}

// Start starts a task in the background and returns it RUNNING.
func Start(cfg Config, opts Options) *Task {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Task{
		cfg:   cfg,
		opts:  opts,
		log:   opts.Logger.With("connector", cfg.Name),
		stop:  cancel,
		done:  make(chan struct{}),
		state: StateRunning,
	}
	go t.run(ctx)
	return t
}

// Status returns the task's state and, when FAILED, its trace.
func (t *Task) Status() (state, trace string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state, t.trace
}

// Done is closed when the task has ended (stopped or failed).
func (t *Task) Done() <-chan struct{} { return t.done }

// Stop asks the task to stop reading, flush what it produced, confirm the
// acknowledged position and disconnect, and waits for it or ctx. With
// slot.drop.on.stop the slot is dropped afterwards.
func (t *Task) Stop(ctx context.Context) error {
	t.dropOnStop.Store(t.cfg.SlotDropOnStop)
	return t.Suspend(ctx)
}

// Suspend is Stop that always keeps the slot (pause).
func (t *Task) Suspend(ctx context.Context) error {
	t.stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runtime: stop %s: %w", t.cfg.Name, ctx.Err())
	}
}

func (t *Task) run(ctx context.Context) {
	defer close(t.done)
	retries := 0
	backoff := 250 * time.Millisecond
	for {
		streamed, err := t.stream(ctx)
		if ctx.Err() != nil {
			if t.dropOnStop.Load() {
				t.dropSlot()
			}
			t.setState(StateStopped, "")
			return
		}
		if err == nil {
			err = errors.New("stream ended unexpectedly")
		}
		if streamed {
			retries, backoff = 0, 250*time.Millisecond
		}
		if retriable(err) && (t.cfg.MaxRetries < 0 || retries < t.cfg.MaxRetries) {
			retries++
			t.opts.Metrics.TaskRetries.WithLabelValues(t.cfg.Name).Inc()
			t.log.Warn("retriable error; reconnecting", "error", err, "attempt", retries, "wait", backoff)
			select {
			case <-ctx.Done():
				t.setState(StateStopped, "")
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, max(t.cfg.RetryWait, 250*time.Millisecond))
			continue
		}
		t.log.Error("task failed", "error", err)
		t.opts.Metrics.TaskFailures.WithLabelValues(t.cfg.Name).Inc()
		t.setState(StateFailed, trace(err))
		return
	}
}

// dropSlot drops the slot after an orderly stop (slot.drop.on.stop).
func (t *Task) dropSlot() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, t.cfg.DB.ConnString())
	if err == nil {
		defer conn.Close(context.WithoutCancel(ctx))
		err = replication.DropSlot(ctx, conn, t.cfg.SlotName)
	}
	if err != nil {
		t.log.Error("slot.drop.on.stop: could not drop the slot", "slot", t.cfg.SlotName, "error", err)
		return
	}
	t.log.Info("dropped replication slot (slot.drop.on.stop)", "slot", t.cfg.SlotName)
}

func (t *Task) setState(state, trace string) {
	t.mu.Lock()
	t.state, t.trace = state, trace
	t.mu.Unlock()
}

// relation is what the task knows about a table of the stream.
type relation struct {
	schema, table string
	cols          []replication.Column
	captured      bool
}

// routeColumns returns the router's columns for a row of rel: the catalog
// facts with the tuple's values, in buf when it is large enough. The values
// alias tup and old. An unchanged TOASTed value of an update takes the old
// tuple's value when it carries one (REPLICA IDENTITY FULL), as Debezium
// does, and the unavailable-value placeholder otherwise.
func (rel *relation) routeColumns(buf []eventrouter.Column, tup, old pgoutput.Tuple, placeholder func(typeOID uint32) []byte) ([]eventrouter.Column, error) {
	if len(tup) != len(rel.cols) {
		return nil, permanent(fmt.Errorf("pgoutput: %s.%s row has %d columns, its Relation %d", rel.schema, rel.table, len(tup), len(rel.cols)))
	}
	if old != nil && len(old) != len(rel.cols) {
		return nil, permanent(fmt.Errorf("pgoutput: %s.%s old row has %d columns, its Relation %d", rel.schema, rel.table, len(old), len(rel.cols)))
	}
	out := buf[:0]
	if cap(out) < len(tup) {
		out = make([]eventrouter.Column, 0, len(tup))
	}
	for i, tc := range tup {
		c := &rel.cols[i]
		col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: c.Key}
		switch tc.Kind {
		case pgoutput.TupleNull:
			col.Null = true
		case pgoutput.TupleText:
			col.Value = tc.Data
		case pgoutput.TupleUnchanged:
			if old != nil && old[i].Kind == pgoutput.TupleText {
				col.Value = old[i].Data
				break
			}
			col.Value = placeholder(c.TypeOID)
			col.Unavailable = true
		default:
			return nil, permanent(fmt.Errorf("pgoutput: binary value for %s.%s.%s (only text format is supported)", rel.schema, rel.table, c.Name))
		}
		out = append(out, col)
	}
	return out, nil
}

// streamer holds one connection attempt's state.
type streamer struct {
	*Task
	router  *eventrouter.Router
	conn    *pgx.Conn
	cat     *replication.Catalog
	repl    *replication.Conn
	client  *kgo.Client
	tracker *delivery.Tracker
	dec     pgoutput.Decoder
	rels    map[uint32]*relation
	// after is reused for each routed row: the router keeps nothing of a
	// change once it returned.
	after []eventrouter.Column
	// produced caches the events-produced counter of each topic.
	produced map[string]prometheus.Counter

	produceErr atomic.Pointer[error]
	// produceCtx outlives a stop request so buffered records are not
	// failed; it is cancelled when the stream is abandoned.
	produceCtx context.Context

	inTx  bool
	entry *delivery.Entry
	// behind is true while the stream reads a backlog in batches.
	behind bool
	// The open transaction's begin facts and the last commit, for the
	// source block of logical message records.
	txID          uint32
	txCommitTime  time.Time
	lastCommitLSN pgoutput.LSN

	lastStatus    time.Time
	lastSent      pgoutput.LSN
	nextHeartbeat time.Time
	nextSlotCheck time.Time
}

// stream runs one connection attempt until ctx ends (nil) or an error.
// streamed reports whether it got as far as streaming, which resets the
// retry budget.
func (t *Task) stream(ctx context.Context) (streamed bool, err error) {
	s := &streamer{Task: t, rels: map[uint32]*relation{}, produced: map[string]prometheus.Counter{}}

	// A new router per task start: it carries the run id of the context
	// headers.
	router, cerrs := eventrouter.New(t.cfg.Name, t.cfg.Props, t.opts.Worker)
	if len(cerrs) > 0 {
		msgs := make([]string, len(cerrs))
		for i, e := range cerrs {
			msgs[i] = e.Key + ": " + e.Message
		}
		return false, permanent(fmt.Errorf("invalid configuration: %s", strings.Join(msgs, "; ")))
	}
	router.SetLogger(t.log)
	s.router = router

	connString := t.cfg.DB.ConnString()
	if s.conn, err = pgx.Connect(ctx, connString); err != nil {
		return false, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer s.conn.Close(context.WithoutCancel(ctx))
	s.cat = replication.NewCatalog(s.conn)

	if _, err := replication.CheckServer(ctx, s.conn); err != nil {
		if errors.Is(err, replication.ErrServer) {
			return false, permanent(err)
		}
		return false, err
	}
	tables, err := t.capturedTables(ctx, s.conn)
	if err != nil {
		return false, err
	}
	did, err := replication.EnsurePublication(ctx, s.conn, replication.PublicationSpec{
		Name: t.cfg.PublicationName, Mode: t.cfg.PublicationMode, Tables: tables, Publish: t.cfg.Publish(),
	})
	if err != nil {
		if errors.Is(err, replication.ErrPublication) {
			return false, permanent(err)
		}
		return false, err
	}
	if did != "" {
		t.log.Info("publication "+did, "publication", t.cfg.PublicationName)
	}

	slot, exists, err := replication.SlotState(ctx, s.conn, t.cfg.SlotName)
	if err != nil {
		return false, err
	}
	if exists {
		if !slot.Logical || slot.Plugin != "pgoutput" {
			return false, permanent(fmt.Errorf("replication slot %q exists but uses plugin %q; walrelay needs a pgoutput slot (drop it or choose another slot.name)", t.cfg.SlotName, slot.Plugin))
		}
		if slot.Database != t.cfg.DB.DBName {
			return false, permanent(fmt.Errorf("replication slot %q belongs to database %q, not %q", t.cfg.SlotName, slot.Database, t.cfg.DB.DBName))
		}
		if slot.Active {
			return false, fmt.Errorf("%w: slot %q", errSlotBusy, t.cfg.SlotName)
		}
	}

	if s.repl, err = replication.Connect(ctx, connString); err != nil {
		return false, err
	}
	defer s.repl.Close(context.WithoutCancel(ctx))

	if s.client, err = t.newProducer(); err != nil {
		return false, permanent(err)
	}
	defer s.client.Close()
	var cancelProduce context.CancelFunc
	s.produceCtx, cancelProduce = context.WithCancel(context.Background())
	defer cancelProduce()
	// A stop request gives buffered records ShutdownTimeout to be
	// acknowledged; after that, producing (even a blocked Produce) is
	// abandoned.
	stopAfter := context.AfterFunc(ctx, func() { time.AfterFunc(t.opts.ShutdownTimeout, cancelProduce) })
	defer stopAfter()

	var start pgoutput.LSN
	marks := t.opts.SnapshotMarks
	initial := t.cfg.SnapshotMode == SnapshotInitial
	if exists {
		start = slot.ConfirmedFlush
		s.tracker = s.newTracker(start)
		t.log.Info("resuming from slot", "slot", t.cfg.SlotName, "lsn", start)
		if marks != nil && marks.SnapshotPending(t.cfg.Name) {
			if initial {
				// The process died while reading the initial snapshot.
				// The slot's own snapshot is gone; read the tables again
				// as they are now. Rows committed since the slot was
				// created may arrive twice, which at-least-once allows.
				t.log.Warn("the initial snapshot was interrupted; reading the tables again")
				if err := s.snapshotAndFlush(ctx, "", tables, start); err != nil {
					return false, err
				}
			}
			if err := marks.SetSnapshotPending(ctx, t.cfg.Name, false); err != nil {
				return false, err
			}
		}
	} else {
		if initial && marks != nil {
			if err := marks.SetSnapshotPending(ctx, t.cfg.Name, true); err != nil {
				return false, err
			}
		}
		created, err := s.repl.CreateSlot(ctx, t.cfg.SlotName, initial)
		if err != nil {
			return false, err
		}
		start = created.ConsistentPoint
		s.tracker = s.newTracker(start)
		t.log.Info("created replication slot", "slot", t.cfg.SlotName, "lsn", start, "snapshot", t.cfg.SnapshotMode)
		if initial {
			if err := s.snapshotAndFlush(ctx, created.SnapshotName, tables, start); err != nil {
				// Without the slot the next start snapshots again; with it
				// the rows not yet sent would never be.
				s.dropSlotAfterFailedSnapshot()
				return false, err
			}
			if marks != nil {
				if err := marks.SetSnapshotPending(ctx, t.cfg.Name, false); err != nil {
					return false, err
				}
			}
		}
	}

	if err := s.repl.Start(ctx, t.cfg.SlotName, start, replication.StartOptions{Publication: t.cfg.PublicationName, Messages: true}); err != nil {
		return false, err
	}
	t.log.Info("streaming", "slot", t.cfg.SlotName, "publication", t.cfg.PublicationName, "lsn", start, "run_id", router.RunID())
	s.lastSent = start
	s.lastStatus = time.Now()
	if t.cfg.HeartbeatInterval > 0 {
		s.nextHeartbeat = time.Now().Add(t.cfg.HeartbeatInterval)
	}

	err = s.loop(ctx)
	// On a stop and on an error that fails the task, what the producer
	// already holds is delivered first, as Kafka Connect does (a failed
	// task's producer is closed with a timeout after its final offset
	// commit), unless the producer itself failed. A reconnect resends from
	// the slot instead.
	s.finish(s.produceErr.Load() == nil && (ctx.Err() != nil || !retriable(err)))
	return true, err
}

func (t *Task) capturedTables(ctx context.Context, conn *pgx.Conn) ([]replication.Table, error) {
	all, err := replication.Tables(ctx, conn)
	if err != nil {
		return nil, err
	}
	var out []replication.Table
	for _, tb := range all {
		if t.cfg.Filter.Match(tb.Schema, tb.Name) {
			out = append(out, tb)
		}
	}
	return out, nil
}

func (t *Task) newProducer() (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(t.opts.Brokers...),
		kgo.ClientID("walrelay-" + t.cfg.Name),
		kgo.RecordPartitioner(delivery.Partitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Kafka Connect's producer default (compression.type=none): the
		// client and the broker spend no CPU per batch on it.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		// The Java producer's default since Kafka 4.0 (linger.ms=5): long
		// enough to batch a busy stream into few requests, short enough
		// for commit-to-consume latency.
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.AllowAutoTopicCreation(),
		// A topic the broker is still creating answers
		// UNKNOWN_TOPIC_OR_PARTITION for a while (on a busy broker, longer
		// than a few metadata refreshes). Kafka Connect's producer waits for
		// it (max.block.ms and delivery.timeout.ms at their maximum), so
		// records are never failed for it here either.
		kgo.UnknownTopicRetries(-1),
		kgo.WithLogger(kgoLogger{t.log}),
	}
	opts = append(opts, t.opts.ProducerOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return cl, nil
}

func (s *streamer) newTracker(start pgoutput.LSN) *delivery.Tracker {
	lag := s.opts.Metrics.CommitToAck.WithLabelValues(s.cfg.Name)
	return delivery.NewTracker(start, func(commitTime time.Time, _ int) {
		// Only transactions have a commit time; snapshots, heartbeats
		// and non-transactional messages are sealed without one.
		if !commitTime.IsZero() {
			lag.Observe(time.Since(commitTime).Seconds())
		}
	})
}

// loop reads the stream until ctx ends or something fails.
func (s *streamer) loop(ctx context.Context) error {
	// One clock reading per message serves the wait, the record
	// timestamps and the periodic work.
	now := time.Now()
	for {
		if p := s.produceErr.Load(); p != nil {
			return *p
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := 250 * time.Millisecond
		if !s.nextHeartbeat.IsZero() {
			wait = min(wait, max(s.nextHeartbeat.Sub(now), time.Millisecond))
		}
		msg, err := s.repl.ReceiveSince(now, wait)
		if err != nil {
			return err
		}
		now = time.Now()
		replyNow := false
		switch m := msg.(type) {
		case *pgoutput.XLogData:
			if err := s.handle(ctx, m, now); err != nil {
				return err
			}
		case *pgoutput.PrimaryKeepalive:
			if !s.inTx {
				s.tracker.Position(m.ServerWALEnd)
			}
			replyNow = m.ReplyRequested
		}
		if err := s.periodic(ctx, replyNow, now); err != nil {
			return err
		}
	}
}

// periodic sends status updates, heartbeats and slot metrics when due.
func (s *streamer) periodic(ctx context.Context, replyNow bool, now time.Time) error {
	if !s.nextHeartbeat.IsZero() && !now.Before(s.nextHeartbeat) && !s.inTx {
		if err := s.heartbeat(ctx); err != nil {
			return err
		}
		s.nextHeartbeat = now.Add(s.cfg.HeartbeatInterval)
	}
	confirmed := s.tracker.Confirmed()
	since := now.Sub(s.lastStatus)
	if replyNow || since >= s.cfg.StatusInterval || (confirmed > s.lastSent && since >= time.Second) {
		if err := s.sendStatus(confirmed); err != nil {
			return err
		}
	}
	if now.After(s.nextSlotCheck) {
		s.nextSlotCheck = now.Add(10 * time.Second)
		if slot, ok, err := replication.SlotState(ctx, s.conn, s.cfg.SlotName); err != nil {
			return err
		} else if ok {
			s.opts.Metrics.RetainedWAL.WithLabelValues(s.cfg.Name, s.cfg.SlotName).Set(float64(slot.RetainedBytes))
		}
	}
	return nil
}

func (s *streamer) sendStatus(confirmed pgoutput.LSN) error {
	if err := s.repl.SendStatus(confirmed, confirmed, false); err != nil {
		return err
	}
	if confirmed != s.lastSent {
		s.log.Debug("confirmed", "lsn", confirmed)
	}
	s.lastSent = confirmed
	s.lastStatus = time.Now()
	s.opts.Metrics.ConfirmedLSN.WithLabelValues(s.cfg.Name, s.cfg.SlotName).Set(float64(confirmed))
	return nil
}

// heartbeat runs the heartbeat action query, then emits the heartbeat
// record, as Debezium does.
func (s *streamer) heartbeat(ctx context.Context) error {
	if q := s.cfg.HeartbeatActionQuery; q != "" {
		if _, err := s.conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("could not execute heartbeat action query: %w", err)
		}
	}
	rec, err := s.router.Heartbeat(time.Now())
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	e := s.tracker.Open()
	if err := s.produce(e, rec); err != nil {
		return err
	}
	// The heartbeat carries no WAL position of its own: seal it at what
	// is already confirmable so it never holds anything back.
	s.tracker.Seal(e, s.tracker.Confirmed(), time.Time{})
	return nil
}

// handle processes one pgoutput message received at now.
func (s *streamer) handle(ctx context.Context, x *pgoutput.XLogData, now time.Time) error {
	msg, err := s.dec.Decode(x.Data)
	if err != nil {
		return permanent(err)
	}
	switch m := msg.(type) {
	case *pgoutput.Begin:
		s.catchUp(now.Sub(m.CommitTime) > catchUpLag)
		s.inTx = true
		s.entry = s.tracker.Open()
		s.txID, s.txCommitTime = m.Xid, m.CommitTime
	case *pgoutput.Commit:
		if s.entry == nil {
			return permanent(errors.New("pgoutput: Commit without Begin"))
		}
		s.tracker.Seal(s.entry, m.TransactionEndLSN, m.CommitTime)
		s.inTx, s.entry = false, nil
		// Debezium's last commit LSN is the stream position of the Commit
		// message: the end of the commit record.
		s.lastCommitLSN = m.TransactionEndLSN
	case *pgoutput.Relation:
		cols, err := s.cat.RelationColumns(ctx, m)
		if err != nil {
			return err
		}
		schema := m.Namespace
		if schema == "" {
			schema = "pg_catalog"
		}
		s.rels[m.RelationID] = &relation{schema: schema, table: m.Name, cols: cols, captured: s.cfg.Filter.Match(schema, m.Name)}
	case *pgoutput.Insert:
		return s.change(ctx, eventrouter.OpCreate, m.RelationID, m.New, nil, now)
	case *pgoutput.Update:
		return s.change(ctx, eventrouter.OpUpdate, m.RelationID, m.New, m.Old, now)
	case *pgoutput.Delete:
		return s.change(ctx, eventrouter.OpDelete, m.RelationID, nil, m.Old, now)
	case *pgoutput.Truncate:
		for _, id := range m.RelationIDs {
			if err := s.change(ctx, eventrouter.OpTruncate, id, nil, nil, now); err != nil {
				return err
			}
		}
	case *pgoutput.LogicalMessage:
		// A transactional message carries its transaction's xid and commit
		// time; one that is not keeps the commit time of the last
		// transaction (Debezium's source info keeps its last timestamp) and
		// counts as a commit of its own.
		lm := eventrouter.LogicalMessage{Transactional: m.Transactional, LSN: uint64(m.LSN), Prefix: m.Prefix, Content: m.Content, CommitTime: s.txCommitTime}
		if m.Transactional {
			lm.TxID, lm.LastCommitLSN = s.txID, uint64(s.lastCommitLSN)
		} else {
			s.lastCommitLSN = m.LSN
		}
		rec, err := s.router.Message(lm, now)
		if err != nil {
			return err
		}
		if m.Transactional {
			if rec != nil {
				return s.produce(s.entry, rec)
			}
			return nil
		}
		e := s.tracker.Open()
		if rec != nil {
			if err := s.produce(e, rec); err != nil {
				return err
			}
		}
		s.tracker.Seal(e, m.LSN, time.Time{})
	}
	return nil
}

// A stream whose transactions arrive more than catchUpLag after their
// commit is working through a backlog: it then reads the server's messages
// in batches, pausing catchUpPause before a read that would wait, instead
// of waking up for each message.
const (
	catchUpLag   = 100 * time.Millisecond
	catchUpPause = time.Millisecond
)

// catchUp switches batched reading on or off.
func (s *streamer) catchUp(behind bool) {
	if behind == s.behind {
		return
	}
	s.behind = behind
	if behind {
		s.repl.CatchUpPause(catchUpPause)
	} else {
		s.repl.CatchUpPause(0)
	}
}

// change routes one row change of the stream.
func (s *streamer) change(ctx context.Context, op eventrouter.Op, relID uint32, newTup, oldTup pgoutput.Tuple, now time.Time) error {
	rel := s.rels[relID]
	if rel == nil {
		return permanent(fmt.Errorf("pgoutput: change for relation %d before its Relation message", relID))
	}
	if !rel.captured || s.cfg.Skipped[op] {
		return nil
	}
	if s.entry == nil {
		return permanent(errors.New("pgoutput: row change outside a transaction"))
	}
	rec, err := s.route(op, rel, newTup, oldTup, now)
	if err != nil || rec == nil {
		return err
	}
	return s.produce(s.entry, rec)
}

// route turns one captured row change into its record; nil when the
// router drops it.
func (s *streamer) route(op eventrouter.Op, rel *relation, newTup, oldTup pgoutput.Tuple, now time.Time) (*eventrouter.Record, error) {
	ch := eventrouter.Change{Op: op, Schema: rel.schema, Table: rel.table}
	if newTup != nil {
		var old pgoutput.Tuple
		if op == eventrouter.OpUpdate {
			old = oldTup
		}
		after, err := rel.routeColumns(s.after, newTup, old, s.placeholder)
		if err != nil {
			return nil, err
		}
		s.after = after
		ch.After = after
	}
	if op == eventrouter.OpUpdate && oldTup != nil {
		oldKey, changed, err := s.keyChange(rel, oldTup, newTup)
		if err != nil {
			return nil, err
		}
		if changed {
			ch.OldKey = oldKey
		}
	}
	return s.router.Route(ch, now)
}

const byteaOID = 17

// placeholder stands in for an unchanged TOASTed value the stream does not
// carry, as Debezium's unavailable.value.placeholder does.
func (s *streamer) placeholder(typeOID uint32) []byte {
	if typeOID == byteaOID {
		return []byte(`\x` + hex.EncodeToString([]byte(s.cfg.UnavailablePlaceholder)))
	}
	return []byte(s.cfg.UnavailablePlaceholder)
}

// keyChange reports whether an update changed the row's key, and the old
// key columns if so. Debezium emits such an update as delete + create.
func (s *streamer) keyChange(rel *relation, oldTup, newTup pgoutput.Tuple) ([]eventrouter.Column, bool, error) {
	if len(oldTup) != len(rel.cols) || len(newTup) != len(rel.cols) {
		return nil, false, permanent(fmt.Errorf("pgoutput: %s.%s update tuples do not match the Relation", rel.schema, rel.table))
	}
	var oldKey []eventrouter.Column
	changed := false
	for i, c := range rel.cols {
		if !c.Key {
			continue
		}
		o, n := oldTup[i], newTup[i]
		col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: true}
		switch o.Kind {
		case pgoutput.TupleText:
			col.Value = o.Data
		case pgoutput.TupleNull:
			col.Null = true
		default:
			continue // not in the old tuple: cannot have changed as far as we know
		}
		oldKey = append(oldKey, col)
		if n.Kind == pgoutput.TupleUnchanged {
			continue
		}
		if o.Kind != n.Kind || !bytes.Equal(o.Data, n.Data) {
			changed = true
		}
	}
	return oldKey, changed, nil
}

// kgoRecord is the producer's record for a routed one. A record with a few
// headers is one allocation.
func kgoRecord(rec *eventrouter.Record) *kgo.Record {
	var r *kgo.Record
	switch n := len(rec.Headers); {
	case n == 0:
		r = &kgo.Record{}
	case n <= 4:
		b := &struct {
			rec     kgo.Record
			headers [4]kgo.RecordHeader
		}{}
		r = &b.rec
		r.Headers = b.headers[:n]
	default:
		r = &kgo.Record{Headers: make([]kgo.RecordHeader, n)}
	}
	for i, h := range rec.Headers {
		r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
	}
	r.Topic, r.Partition, r.Key, r.Value, r.Timestamp = rec.Topic, rec.Partition, rec.Key, rec.Value, rec.Timestamp
	return r
}

// producedCounter returns the events-produced counter of a topic. Only the
// stream's reader calls it.
func (s *streamer) producedCounter(topic string) prometheus.Counter {
	c, ok := s.produced[topic]
	if !ok {
		c = s.opts.Metrics.EventsProduced.WithLabelValues(s.cfg.Name, topic)
		s.produced[topic] = c
	}
	return c
}

// produce sends a routed record as part of entry e.
func (s *streamer) produce(e *delivery.Entry, rec *eventrouter.Record) error {
	if rec.Partition < -1 {
		return permanent(fmt.Errorf("java.lang.IllegalArgumentException: Invalid partition: %d. Partition number should always be non-negative or null.", rec.Partition))
	}
	r := kgoRecord(rec)
	explicit := rec.Partition
	produced := s.producedCounter(rec.Topic)
	s.tracker.Add(e)
	s.client.Produce(s.produceCtx, r, func(r *kgo.Record, err error) {
		if err != nil {
			if explicit >= 0 && strings.Contains(err.Error(), "invalid record partitioning choice") {
				err = fmt.Errorf("record for topic %s names partition %d, which the topic does not have: %w", r.Topic, explicit, err)
			}
			err = fmt.Errorf("Unrecoverable exception from producer send callback: %w", err)
			s.produceErr.CompareAndSwap(nil, &err)
			return
		}
		produced.Inc()
		s.tracker.Ack(e)
	})
	return nil
}

// snapshotAndFlush reads the captured tables (inside the exported snapshot
// name, or a new one when name is empty) and waits until the broker has
// acknowledged every row.
func (s *streamer) snapshotAndFlush(ctx context.Context, name string, tables []replication.Table, at pgoutput.LSN) error {
	e := s.tracker.Open()
	n, err := s.snapshot(ctx, name, tables, e)
	if err != nil {
		return err
	}
	s.tracker.Seal(e, at, time.Time{})
	if err := s.client.Flush(ctx); err != nil {
		return fmt.Errorf("snapshot flush: %w", err)
	}
	if p := s.produceErr.Load(); p != nil {
		return *p
	}
	s.log.Info("snapshot read", "rows", n)
	return nil
}

// snapshot reads the captured tables inside the slot's exported snapshot
// and produces each row as a read ('r') event.
func (s *streamer) snapshot(ctx context.Context, name string, tables []replication.Table, e *delivery.Entry) (int, error) {
	n := 0
	err := replication.ReadSnapshot(ctx, s.conn, s.cat, name, tables, func(row replication.Row) error {
		if p := s.produceErr.Load(); p != nil {
			return *p
		}
		after := make([]eventrouter.Column, len(row.Columns))
		for i, c := range row.Columns {
			col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: c.Key}
			if row.Values[i] == nil {
				col.Null = true
			} else {
				// Row values are reused by the next row; records keep them.
				col.Value = bytes.Clone(row.Values[i])
			}
			after[i] = col
		}
		rec, err := s.router.Route(eventrouter.Change{Op: eventrouter.OpRead, Schema: row.Table.Schema, Table: row.Table.Name, After: after}, time.Now())
		if err != nil {
			return err
		}
		n++
		if rec == nil {
			return nil
		}
		return s.produce(e, rec)
	})
	return n, err
}

// dropSlotAfterFailedSnapshot removes a slot whose snapshot did not finish.
func (s *streamer) dropSlotAfterFailedSnapshot() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.repl.Close(ctx)
	if err := replication.DropSlot(ctx, s.conn, s.cfg.SlotName); err != nil {
		s.log.Error("could not drop the slot of an unfinished snapshot; drop it before restarting, or rows will be missed", "slot", s.cfg.SlotName, "error", err)
		return
	}
	s.log.Info("dropped the slot of an unfinished snapshot", "slot", s.cfg.SlotName)
}

// finish ends a stream: when flush is set it first waits (up to the
// shutdown timeout) for the broker to acknowledge what the producer holds,
// then it confirms what the broker acknowledged.
func (s *streamer) finish(flush bool) {
	if flush {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		if err := s.client.Flush(ctx); err != nil {
			s.log.Warn("flush on stop", "error", err, "in_flight", s.tracker.InFlight())
		}
		cancel()
	}
	confirmed := s.tracker.Confirmed()
	if err := s.sendStatus(confirmed); err != nil {
		s.log.Warn("final status update", "error", err)
		return
	}
	s.log.Info("stream closed", "confirmed_lsn", confirmed, "flushed", flush)
}

// kgoLogger sends the producer's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	args := append([]any{"component", "kafka"}, keyvals...)
	switch level {
	case kgo.LogLevelError:
		k.l.Error(msg, args...)
	case kgo.LogLevelWarn:
		k.l.Warn(msg, args...)
	default:
		k.l.Debug(msg, args...)
	}
}
