package sourcetask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
)

// Task states, as Kafka Connect reports them.
const (
	// StateStarting is a task whose first connection attempt has not yet
	// reached its replication slot. Kafka Connect reports a task RUNNING
	// only once the connector's start() returned, and Debezium's returns
	// once the slot exists: a row committed after RUNNING is captured.
	StateStarting = "STARTING"
	StateRunning  = "RUNNING"
	StateFailed   = "FAILED"
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
	// SlotCheckInterval is how often the slot's retained WAL is read for
	// its gauge (default 10s).
	SlotCheckInterval time.Duration
	// Silence is how long a stream may hear nothing from the server before
	// it gives up on the connection and reconnects (default 60s, as
	// PostgreSQL's wal_receiver_timeout): halfway it asks the server for a
	// reply, which a server that is there sends at once, busy or idle, and
	// it gives up when the other half passes without one.
	Silence time.Duration
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

	stop context.CancelFunc
	// done is closed when run ends, watched when watchSlot does.
	done       chan struct{}
	watched    chan struct{}
	dropOnStop atomic.Bool

	mu    sync.Mutex
	state string
	trace string
}

// Start starts a task in the background and returns it STARTING. It turns
// RUNNING once the slot exists (found, or created and so fixing the first
// position streamed), or once a first attempt failed with an error it
// retries, as Debezium's start() returns and lets its poll loop retry.
func Start(cfg Config, opts Options) *Task {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.SlotCheckInterval <= 0 {
		opts.SlotCheckInterval = 10 * time.Second
	}
	if opts.Silence <= 0 {
		opts.Silence = 60 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Task{
		cfg:     cfg,
		opts:    opts,
		log:     opts.Logger.With("connector", cfg.Name),
		stop:    cancel,
		done:    make(chan struct{}),
		watched: make(chan struct{}),
		state:   StateStarting,
	}
	go t.watchSlot(ctx)
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
// slot.drop.on.stop the slot is then dropped, whether the task was
// streaming or waiting to reconnect; a task that already FAILED keeps it.
func (t *Task) Stop(ctx context.Context) error {
	t.dropOnStop.Store(t.cfg.SlotDropOnStop)
	return t.Suspend(ctx)
}

// Suspend is Stop that always keeps the slot (pause).
func (t *Task) Suspend(ctx context.Context) error {
	t.stop()
	for _, ch := range []chan struct{}{t.done, t.watched} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sourcetask: stop %s: %w", t.cfg.Name, ctx.Err())
		}
	}
	return nil
}

func (t *Task) run(ctx context.Context) {
	defer close(t.done)
	retries := 0
	backoff := 250 * time.Millisecond
	for {
		streamed, err := t.stream(ctx)
		if ctx.Err() != nil {
			t.stopped()
			return
		}
		if err == nil {
			err = errors.New("stream ended unexpectedly")
		}
		if streamed {
			retries, backoff = 0, 250*time.Millisecond
		}
		if retriable(err) && (t.cfg.MaxRetries < 0 || retries < t.cfg.MaxRetries) {
			t.running()
			retries++
			t.opts.Metrics.TaskRetries.WithLabelValues(t.cfg.Name).Inc()
			t.log.Warn("retriable error; reconnecting", "error", err, "attempt", retries, "wait", backoff)
			if !sleep(ctx, backoff) {
				t.stopped()
				return
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

// stopped ends a task that was asked to stop, during a connection attempt
// or between two: with slot.drop.on.stop (Stop, not Suspend) the slot is
// dropped, once the slot watcher is gone so the gauge it keeps is not set
// again.
func (t *Task) stopped() {
	if t.dropOnStop.Load() {
		<-t.watched
		t.dropSlot()
	}
	t.setState(StateStopped, "")
}

// sleep waits for d; it reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// running moves a STARTING task to RUNNING.
func (t *Task) running() {
	t.mu.Lock()
	if t.state == StateStarting {
		t.state = StateRunning
	}
	t.mu.Unlock()
}

func (t *Task) setState(state, trace string) {
	t.mu.Lock()
	t.state, t.trace = state, trace
	t.mu.Unlock()
}
