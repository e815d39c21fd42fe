package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const effectsDDL = `CREATE TABLE effects (
    seq      bigserial PRIMARY KEY,
    event_id uuid   NOT NULL,
    key      text   NOT NULL,
    n        int    NOT NULL DEFAULT 0,
    member   text   NOT NULL DEFAULT ''
)`

// env is one test's database (inbox and effects tables), broker, and the
// names it owns on that broker: a topic and a suffix for its consumer group
// ids, unique within the test binary, so tests sharing a broker never see
// each other's records or offsets.
type env struct {
	t     *testing.T
	dsn   string
	pool  *pgxpool.Pool
	addr  string
	topic string
	id    string
	adm   *kadm.Client
	logs  *logCounter
}

// logCounter counts log records by message and forwards those at Info and
// above to the test's output.
type logCounter struct {
	next slog.Handler
	mu   *sync.Mutex
	n    map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCounter) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.n[r.Message]++
	l.mu.Unlock()
	if r.Level < slog.LevelInfo {
		return nil
	}
	return l.next.Handle(ctx, r)
}

func (l *logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	c := *l
	c.next = l.next.WithAttrs(as)
	return &c
}

func (l *logCounter) WithGroup(name string) slog.Handler {
	c := *l
	c.next = l.next.WithGroup(name)
	return &c
}

func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// envSeq numbers the envs of the test binary.
var envSeq atomic.Int64

func newEnv(t *testing.T, b broker) *env {
	t.Helper()
	dsn := pgtest.NewDatabase(t) // starts the shared cluster on first use
	var addr string
	if b.shared {
		// A shared broker outlives the test: start it (on first use)
		// before goleak's snapshot, so its goroutines are not leaks.
		addr = b.addr(t)
	}
	// Registered before the consumers, pools and per-test broker, so it
	// runs after their cleanups have stopped them.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), inbox.Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), effectsDDL); err != nil {
		t.Fatal(err)
	}
	if !b.shared {
		addr = b.addr(t)
	}
	id := fmt.Sprintf("%d-%s", envSeq.Add(1), slug(t.Name()))
	logs := &logCounter{next: slog.NewTextHandler(t.Output(), nil), mu: new(sync.Mutex), n: make(map[string]int)}
	e := &env{
		t: t, dsn: dsn, pool: pool, addr: addr,
		topic: "outbox.event.order." + id, id: id,
		// Metadata cached for a short time only: tests poll topics that
		// the runtime creates meanwhile.
		adm:  kadm.NewClient(kafkatest.Client(t, addr, kgo.MetadataMinAge(100*time.Millisecond))),
		logs: logs,
	}
	e.createTopic(e.topic)
	return e
}

// topicPartitions is the partition count of each test's topic, the one
// both stacks give auto-created topics.
const topicPartitions = 3

// createTopic creates topic and waits until the leader of each partition
// answers. Producing to a missing topic creates it on both brokers, but
// Apache Kafka answers the metadata request that creates it with
// UNKNOWN_TOPIC_OR_PARTITION, and a produce right after creation with
// NOT_LEADER_OR_FOLLOWER while its metadata already names the leader;
// either way franz-go's producer waits out MetadataMinAge (5 s) before it
// asks again. Dead-letter topics are left to the runtime to create.
func (e *env) createTopic(topic string) {
	e.t.Helper()
	if _, err := e.adm.CreateTopic(e.t.Context(), topicPartitions, 1, nil, topic); err != nil {
		e.t.Fatalf("create topic %s: %v", topic, err)
	}
	waitFor(e.t, 30*time.Second, "the leader of each partition of "+topic, func() bool {
		l, err := e.adm.ListEndOffsets(e.t.Context(), topic)
		if err != nil {
			return false
		}
		n := 0
		l.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				n++
			}
		})
		return n == topicPartitions
	})
}

// slug turns a test name, without the leading "Test", into lower-case
// letters, digits and dashes, valid in topic names.
func slug(name string) string {
	name = strings.TrimPrefix(name, "Test")
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// group returns this test's consumer group id for a role ("payment").
func (e *env) group(role string) string { return role + "." + e.id }

// config is a consumer configuration tuned for quick group joins and
// commits.
func (e *env) config(group string, h consumer.Handler) consumer.Config {
	return consumer.Config{
		Brokers:    []string{e.addr},
		Group:      group,
		Topics:     []string{e.topic},
		Pool:       e.pool,
		Handler:    h,
		BackoffMin: 5 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond,
		Logger:     slog.New(e.logs),
		ClientOpts: []kgo.Opt{
			kgo.SessionTimeout(6 * time.Second),
			kgo.HeartbeatInterval(100 * time.Millisecond),
			kgo.RebalanceTimeout(20 * time.Second),
			kgo.AutoCommitInterval(100 * time.Millisecond),
			kgo.FetchMaxWait(100 * time.Millisecond),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			// A dead-letter topic created on first use has no leader at
			// first; ask again soon rather than after the default 5 s.
			kgo.MetadataMinAge(250 * time.Millisecond),
		},
	}
}

// running is a consumer whose Run executes in a goroutine.
type running struct {
	c      *consumer.Consumer
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (e *env) start(cfg consumer.Config) *running {
	e.t.Helper()
	c, err := consumer.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.t.Context())
	r := &running{c: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = c.Run(ctx)
	}()
	e.t.Cleanup(func() { r.cancel(); <-r.done })
	return r
}

// stop cancels Run and waits for it to return cleanly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
}

// event builds a record carrying an event the way the outbox router
// emits it.
func event(key, id, typ string, payload string) *kgo.Record {
	hs := []kgo.RecordHeader{{Key: "id", Value: []byte(id)}}
	if typ != "" {
		hs = append(hs, kgo.RecordHeader{Key: "eventType", Value: []byte(typ)})
	}
	return &kgo.Record{Key: []byte(key), Value: []byte(payload), Headers: hs}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// insertEffect is the handler effect most tests use.
func insertEffect(ctx context.Context, tx pgx.Tx, ev consumer.Event, member string) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, key, n, member) VALUES ($1, $2, coalesce(nullif($3, '')::int, 0), $4)`,
		ev.ID, ev.Key, string(ev.Payload), member)
	return err
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.t.Context(), q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	servicetest.WaitFor(t, within, what, cond)
}

// committedOK returns the group's committed offset per partition of topic.
// A group the coordinator does not know has none: kfake answers
// GROUP_ID_NOT_FOUND for it, Apache Kafka an empty list. Other errors, such
// as Apache Kafka's COORDINATOR_NOT_AVAILABLE while it creates its offsets
// topic, are returned.
func (e *env) committedOK(group, topic string) (map[int32]int64, error) {
	out := make(map[int32]int64)
	offs, err := e.adm.FetchOffsets(e.t.Context(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, ps := range offs {
		for p, o := range ps {
			switch {
			case o.Topic != topic:
			case o.Err != nil:
				return nil, fmt.Errorf("partition %d: %w", p, o.Err)
			case o.At >= 0:
				out[p] = o.At
			}
		}
	}
	return out, nil
}

// committed is committedOK failing the test on an error.
func (e *env) committed(group, topic string) map[int32]int64 {
	e.t.Helper()
	out, err := e.committedOK(group, topic)
	if err != nil {
		e.t.Fatalf("committed offsets of %s: %v", group, err)
	}
	return out
}

// endsOK returns the end offset of each non-empty partition of topic; a
// topic that does not exist has none. It reports false when the broker did
// not answer for every partition (a leader not ready yet), so a caller
// never mistakes a partition it did not hear about for an empty one.
func (e *env) endsOK(topic string) (map[int32]int64, bool) {
	l, err := e.adm.ListEndOffsets(e.t.Context(), topic)
	if err != nil {
		return nil, false
	}
	out := make(map[int32]int64)
	ok := true
	l.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition) && o.Partition < 0:
		case o.Err != nil:
			ok = false
		case o.Offset > 0:
			out[o.Partition] = o.Offset
		}
	})
	return out, ok
}

// ends is endsOK failing the test when the broker did not answer for every
// partition.
func (e *env) ends(topic string) map[int32]int64 {
	e.t.Helper()
	out, ok := e.endsOK(topic)
	if !ok {
		e.t.Fatalf("end offsets of %s: the broker did not answer for every partition", topic)
	}
	return out
}

// recordsOK counts the records in topic (0 when it does not exist); false
// as for endsOK.
func (e *env) recordsOK(topic string) (int64, bool) {
	ends, ok := e.endsOK(topic)
	var n int64
	for _, end := range ends {
		n += end
	}
	return n, ok
}

// records is recordsOK failing the test when a partition did not answer.
func (e *env) records(topic string) int64 {
	e.t.Helper()
	n, ok := e.recordsOK(topic)
	if !ok {
		e.t.Fatalf("end offsets of %s: the broker did not answer for every partition", topic)
	}
	return n
}

// allCommitted reports whether group has committed the end offset of every
// non-empty partition of topic.
func (e *env) allCommitted(group, topic string) bool {
	ends, ok := e.endsOK(topic)
	if !ok {
		return false
	}
	c, err := e.committedOK(group, topic)
	if err != nil {
		return false
	}
	for p, end := range ends {
		if c[p] != end {
			return false
		}
	}
	return true
}

// calls counts handler invocations per event id.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[id]++
	return c.n[id]
}

func (c *calls) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func (c *calls) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range c.n {
		t += n
	}
	return t
}

// duplicates counts records skipped as already handled.
func (e *env) duplicates() int { return e.logs.count("duplicate event skipped") }
