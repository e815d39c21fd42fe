package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
)

// Config configures a Consumer. Brokers, Group, Topics, Pool and Handler
// are required.
type Config struct {
	Brokers []string
	Group   string
	Topics  []string
	Pool    *pgxpool.Pool
	Handler Handler
	// Types, when set, are the event types Handler takes (a Mux's Types).
	// A record of any other type is finished without a transaction: no
	// inbox row, no Validate, no handler call; it is counted as ignored.
	// Such an event has no effect, so there is nothing to deduplicate.
	// Empty, every event goes through the inbox and Handler. Records
	// without a usable id are dead-lettered whatever their type.
	Types []string
	// Validate, when set, checks each new event before the handler, once
	// per record (schema validation on receipt; see Validator); an error
	// sends the record to the dead-letter topic.
	Validate func(Event) error
	// InboxTable is the inbox table, possibly schema-qualified (default
	// "inbox").
	InboxTable string
	// MaxAttempts bounds the attempts for failing events before they are
	// dead-lettered (default 5). Attempts that fail because PostgreSQL
	// cannot be reached are not counted.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the capped exponential backoff with
	// jitter between attempts (defaults 100ms and 5s).
	BackoffMin, BackoffMax time.Duration
	// AttemptTimeout bounds one attempt: the transaction with the handler,
	// one dead-letter produce, one inbox write (default 30s). A timed-out
	// attempt counts as a transient failure. It also bounds how long
	// shutdown and partition revocation wait for the record in flight.
	AttemptTimeout time.Duration
	// InboxRetention is how long the group's inbox rows are kept (default
	// 7 days); older ones are deleted in batches every InboxPruneInterval
	// (default 1h) while Run runs. A duplicate of an event older than the
	// retention would take effect again, so it must exceed any redelivery
	// window. Negative keeps the rows forever.
	InboxRetention     time.Duration
	InboxPruneInterval time.Duration
	// BatchSize bounds how many records of one partition, of those already
	// fetched and waiting, are applied in one database transaction
	// (default DefaultBatchSize; 1 gives every record its own). A record
	// never waits for others to arrive: batches form only when records
	// queue up, under load, where one commit for several saves the
	// database work that is the consumer's bottleneck. See the package
	// documentation, Batches.
	BatchSize int
	// LockBatch, when set, queues on b the statements that lock the rows
	// a batch's events will update. b goes to PostgreSQL in one round trip
	// with the batch's BEGIN and inbox claims, right after the claims, and
	// its statements run before any handler. evs are the batch's events in
	// offset order, duplicates among them (the claims' answers are not
	// known yet). A handler whose events update rows that other
	// partitions' events update too (a stock row, an account) locks them
	// all here, in one order: batches then wait for each other instead of
	// deadlocking, which, with each record locking its own rows in turn,
	// batches of different partitions do. Its statements may wait up to
	// BatchLockWait for those locks; the handlers after them wait at most
	// the batch's usual lock timeout. An error, returned here or by one of
	// its statements, rolls the batch back and its records go one at a
	// time. Single records do not call it.
	LockBatch func(ctx context.Context, b *pgx.Batch, evs []Event) error
	// InstanceID, when set, makes the consumer a static member of its
	// group (Kafka's group.instance.id): a consumer restarted with the same
	// id takes its partitions back at once, where a new member would wait
	// for the dead one's session to time out (45 s by default) with its
	// partitions unprocessed. It must be stable across restarts and unique
	// per replica (a StatefulSet pod name, say). A static member does not
	// leave the group when it stops: a replica removed for good keeps its
	// partitions until its session times out.
	InstanceID string
	// Metrics, when set, receives the consumer's metrics (see NewMetrics);
	// nil records none.
	Metrics *Metrics
	// Tracing records a consumer span per record, whose parent is the
	// record's traceparent, and a span for the handler's work under it;
	// nil records none (see the package documentation, Tracing).
	Tracing trace.TracerProvider
	// Logger receives the runtime's logs; nil discards them.
	Logger *slog.Logger
	// ClientOpts are appended to the franz-go options (tests use them for
	// short session timeouts and commit intervals). They must not replace
	// the group callbacks, the commit mode or BlockRebalanceOnPoll.
	ClientOpts []kgo.Opt
}

// Defaults for zero Config fields.
const (
	DefaultInboxTable     = inbox.DefaultTable
	DefaultMaxAttempts    = 5
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultAttemptTimeout = 30 * time.Second
	DefaultBatchSize      = 16

	DefaultInboxRetention     = 7 * 24 * time.Hour
	DefaultInboxPruneInterval = time.Hour
)

// DLQSuffix is appended to a topic to name its dead-letter topic.
const DLQSuffix = ".dlq"

// Headers the runtime adds to dead-lettered records, after the original
// record's headers.
const (
	HeaderDLQError             = "dlq.error"              // error text
	HeaderDLQAttempts          = "dlq.attempts"           // attempts made, decimal
	HeaderDLQOriginalTopic     = "dlq.original.topic"     // source topic
	HeaderDLQOriginalPartition = "dlq.original.partition" // source partition, decimal
	HeaderDLQOriginalOffset    = "dlq.original.offset"    // source offset, decimal
	HeaderDLQGroup             = "dlq.group"              // consumer group
	HeaderDLQFailedAt          = "dlq.failed.at"          // RFC 3339 UTC time of the decision
	// HeaderDLQValueDropped is present when the broker refused the dead
	// letter as too large: the value (and, if that was not enough, the
	// original headers other than id, eventType and traceparent) were left
	// out. It says how many bytes and why.
	HeaderDLQValueDropped = "dlq.value.dropped"
)

// maxDLQErrorLen caps the dlq.error header; longer error texts are cut.
const maxDLQErrorLen = 8 << 10

// Errors returned by Ping.
var (
	ErrNotRunning = errors.New("consumer: not running")
	ErrNotJoined  = errors.New("consumer: group not joined")
)

// commitTimeout bounds the offset commits made on revocation and shutdown.
const commitTimeout = 10 * time.Second

// Consumer consumes a set of topics as one consumer group member and hands
// each record to the handler in a PostgreSQL transaction. See the package
// documentation for the guarantees.
type Consumer struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer
	types   map[string]bool // Config.Types; nil takes every type
	opts    []kgo.Opt
	started atomic.Bool

	mu      sync.Mutex
	cl      *kgo.Client
	base    context.Context // Run's context: parent of every worker
	workers map[tp]*worker
	closing bool
}

type tp struct {
	topic     string
	partition int32
}

// New checks cfg, fills in defaults and returns a Consumer. It does not
// connect; Run does.
func New(cfg Config) (*Consumer, error) {
	switch {
	case len(cfg.Brokers) == 0:
		return nil, errors.New("consumer: Brokers is required")
	case cfg.Group == "":
		return nil, errors.New("consumer: Group is required")
	case len(cfg.Topics) == 0:
		return nil, errors.New("consumer: Topics is required")
	case cfg.Pool == nil:
		return nil, errors.New("consumer: Pool is required")
	case cfg.Handler == nil:
		return nil, errors.New("consumer: Handler is required")
	case cfg.MaxAttempts < 0, cfg.BackoffMin < 0, cfg.BackoffMax < 0, cfg.AttemptTimeout < 0, cfg.BatchSize < 0:
		return nil, errors.New("consumer: MaxAttempts, BackoffMin, BackoffMax, AttemptTimeout and BatchSize must not be negative")
	}
	if cfg.InboxTable == "" {
		cfg.InboxTable = DefaultInboxTable
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = max(DefaultBackoffMax, cfg.BackoffMin)
	}
	if cfg.BackoffMin > cfg.BackoffMax {
		return nil, fmt.Errorf("consumer: BackoffMin %v exceeds BackoffMax %v", cfg.BackoffMin, cfg.BackoffMax)
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.InboxRetention == 0 {
		cfg.InboxRetention = DefaultInboxRetention
	}
	if cfg.InboxPruneInterval <= 0 {
		cfg.InboxPruneInterval = DefaultInboxPruneInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("group", cfg.Group)
	tracing := cfg.Tracing
	if tracing == nil {
		tracing = noop.NewTracerProvider()
	}
	c := &Consumer{cfg: cfg, log: log, tracer: tracing.Tracer(tracerName), workers: make(map[tp]*worker)}
	if len(cfg.Types) > 0 {
		c.types = make(map[string]bool, len(cfg.Types))
		for _, t := range cfg.Types {
			c.types[t] = true
		}
	}
	c.opts = append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		// Callbacks run only between polls, never while a poll's records
		// are being handed to the partition workers.
		kgo.BlockRebalanceOnPoll(),
		// Only offsets of finished records are marked; the client commits
		// marks periodically, and we commit them on revoke and shutdown.
		kgo.AutoCommitMarks(),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		// Skip records of aborted producer transactions.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers take offsets too: the workers finish them
		// without a handler, so the committed offset (and consumer_lag)
		// reaches a partition's end after a producer transaction.
		kgo.KeepControlRecords(),
		// Dead-letter topics are created on first use where the broker
		// allows it.
		kgo.AllowAutoTopicCreation(),
		kgo.WithLogger(kgoLogger{log}),
	}, cfg.ClientOpts...)
	if cfg.InstanceID != "" {
		c.opts = append(c.opts, kgo.InstanceID(cfg.InstanceID))
	}
	return c, nil
}

// Run joins the group and processes records until ctx is done. Then it stops
// polling, lets every partition finish the record in flight (no new attempt
// starts), commits the offsets of finished records, leaves the group and
// returns nil, or the error of that final commit. Run may be called once.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("consumer: Run called twice")
	}
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
	cl, err := kgo.NewClient(c.opts...)
	if err != nil {
		return fmt.Errorf("consumer: client: %w", err)
	}
	c.mu.Lock()
	c.cl = cl
	c.mu.Unlock()
	c.createDeadLetterTopics(ctx, cl)
	pruneCtx, stopPruning := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() { defer close(pruned); c.pruneInbox(pruneCtx) }()
	defer func() { stopPruning(); <-pruned }()
	c.log.Info("consumer started", "topics", c.cfg.Topics)

	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			cl.AllowRebalance()
			break
		}
		fs.EachError(func(topic string, partition int32, err error) {
			c.log.Warn("fetch failed", "topic", topic, "partition", partition, "error", err)
		})
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			// A partition without records still reports its end offsets.
			if len(p.Records) > 0 || p.Err == nil {
				c.dispatch(cl, p.Topic, p.FetchPartition)
			}
		})
		cl.AllowRebalance()
	}

	c.stopAll()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	err = cl.CommitMarkedOffsets(cctx)
	cancel()
	if err != nil {
		c.log.Error("final offset commit failed; uncommitted records will be redelivered", "error", err)
		err = fmt.Errorf("consumer: final offset commit: %w", err)
	}
	cl.CloseAllowingRebalance()
	c.mu.Lock()
	c.cl = nil
	c.mu.Unlock()
	c.log.Info("consumer stopped")
	return err
}

// pruneInbox deletes the group's inbox rows older than InboxRetention, at
// start and every InboxPruneInterval, until ctx is done. A failure is
// logged and tried again at the next interval: old rows cost space, not
// correctness.
func (c *Consumer) pruneInbox(ctx context.Context) {
	if c.cfg.InboxRetention < 0 {
		return
	}
	tick := time.NewTicker(c.cfg.InboxPruneInterval)
	defer tick.Stop()
	for {
		n, err := inbox.Prune(ctx, c.cfg.Pool, c.cfg.InboxTable, c.cfg.Group, time.Now().Add(-c.cfg.InboxRetention), 1000)
		switch {
		case err != nil && ctx.Err() == nil:
			c.log.Warn("pruning the inbox failed; trying again later", "error", err)
		case n > 0:
			c.log.Info("inbox pruned", "rows", n, "retention", c.cfg.InboxRetention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// createDeadLetterTopics creates the dead-letter topics with the broker's
// default partitions and replication before the first record is read. Left
// to auto-creation, the first dead letter would wait for the producer's
// next metadata refresh (seconds on Apache Kafka) while its partition
// stands still. A broker that refuses (no rights, say) leaves them to
// auto-creation: that is logged, not fatal.
func (c *Consumer) createDeadLetterTopics(ctx context.Context, cl *kgo.Client) {
	dlqs := make([]string, len(c.cfg.Topics))
	for i, t := range c.cfg.Topics {
		dlqs[i] = t + DLQSuffix
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	resps, err := kadm.NewClient(cl).CreateTopics(cctx, -1, -1, nil, dlqs...)
	if err != nil {
		c.log.Warn("could not create dead-letter topics; the broker may create them on first use", "topics", dlqs, "error", err)
		return
	}
	for _, r := range resps.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			c.log.Warn("could not create dead-letter topic; the broker may create it on first use", "topic", r.Topic, "error", r.Err)
		}
	}
}

// Ping reports whether the group has been joined and a broker is reachable
// (for /readyz).
func (c *Consumer) Ping(ctx context.Context) error {
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl == nil {
		return ErrNotRunning
	}
	if _, gen := cl.GroupMetadata(); gen < 0 {
		return ErrNotJoined
	}
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("consumer: broker unreachable: %w", err)
	}
	return nil
}

// dispatch queues a fetch's records for their partition's worker and tells
// it the partition's end. With BlockRebalanceOnPoll the assignment callback
// has always run for these partitions; the worker is created here only as a
// fallback.
func (c *Consumer) dispatch(cl *kgo.Client, topic string, p kgo.FetchPartition) {
	at := tp{topic, p.Partition}
	c.mu.Lock()
	w := c.workers[at]
	if w == nil && !c.closing && len(p.Records) > 0 {
		w = c.startLocked(cl, at)
	}
	c.mu.Unlock()
	if w != nil {
		// Records past the last stable offset are not readable yet; a
		// broker too old to report one (-1) has no transactions to wait
		// for.
		end := p.LastStableOffset
		if end < 0 {
			end = p.HighWatermark
		}
		w.push(p.Records, end)
	}
}

func (c *Consumer) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for topic, ps := range assigned {
		for _, p := range ps {
			if c.closing || c.workers[tp{topic, p}] != nil {
				continue
			}
			c.startLocked(cl, tp{topic, p})
			c.log.Info("partition assigned", "topic", topic, "partition", p)
		}
	}
}

// revoked drains the revoked partitions (each finishes its record in
// flight) and commits what they finished before the partitions move on.
func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	c.stop(revoked, "revoked")
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		c.log.Error("offset commit on revoke failed; finished records will be redelivered", "error", err)
	}
}

// lost drains the lost partitions; committing is pointless, the member is
// no longer in the group.
func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stop(lost, "lost")
}

func (c *Consumer) startLocked(cl *kgo.Client, at tp) *worker {
	w := newWorker(c, cl, at)
	c.workers[at] = w
	go w.run()
	return w
}

// stop stops the workers of the given partitions and waits for them.
func (c *Consumer) stop(parts map[string][]int32, why string) {
	var ws []*worker
	c.mu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			if w := c.workers[tp{topic, p}]; w != nil {
				delete(c.workers, tp{topic, p})
				ws = append(ws, w)
			}
		}
	}
	c.mu.Unlock()
	halt(ws)
	for _, w := range ws {
		c.log.Info("partition "+why, "topic", w.at.topic, "partition", w.at.partition)
	}
}

// stopAll stops every worker for shutdown; no new ones start afterwards.
func (c *Consumer) stopAll() {
	c.mu.Lock()
	c.closing = true
	ws := make([]*worker, 0, len(c.workers))
	for at, w := range c.workers {
		delete(c.workers, at)
		ws = append(ws, w)
	}
	c.mu.Unlock()
	halt(ws)
}

func halt(ws []*worker) {
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		w.wait()
	}
}
