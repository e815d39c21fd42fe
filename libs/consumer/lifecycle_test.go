package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/kfakebroker"
)

// testReplacementConsumerPicksUpWhatAFailingOneLeft stops a consumer while
// one event keeps failing and starts another member of the group: nothing
// is lost, nothing takes effect twice, every offset ends up committed.
func testReplacementConsumerPicksUpWhatAFailingOneLeft(t *testing.T, e *env) {
	var recs []*kgo.Record
	var stuck *kgo.Record
	for i := range 20 {
		typ := "OrderCreated"
		if i == 9 {
			typ = "Stuck"
		}
		r := event(fmt.Sprintf("order-%d", i%5), newID(), typ, fmt.Sprint(i))
		if i == 9 {
			stuck = r
		}
		recs = append(recs, r)
	}
	kafkatest.Produce(t, e.addr, e.topic, recs...)
	stuckID := first(stuck, "id")

	var failures atomic.Int32
	cfgA := e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if ev.Type == "Stuck" {
			failures.Add(1)
			return errors.New("dependency unavailable")
		}
		return insertEffect(ctx, tx, ev, "a")
	})
	cfgA.MaxAttempts = 1_000_000
	a := e.start(cfgA)
	waitFor(t, 30*time.Second, "the stuck event to fail twice", func() bool { return failures.Load() >= 2 })
	a.stop(t)

	if n := e.count(`SELECT count(*) FROM inbox WHERE event_id = $1`, stuckID); n != 0 {
		t.Fatalf("the failing event was claimed by the stopped consumer")
	}
	if off, ok := e.committed(e.group("payment"), e.topic)[stuck.Partition]; ok && off > stuck.Offset {
		t.Fatalf("committed offset %d passes the unfinished record at %d", off, stuck.Offset)
	}

	b := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		return insertEffect(ctx, tx, ev, "b")
	}))
	waitFor(t, 30*time.Second, "all events handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) >= 20 && e.allCommitted(e.group("payment"), e.topic)
	})
	b.stop(t)
	if n := e.count(`SELECT count(*) FROM effects`); n != 20 {
		t.Fatalf("effects = %d, want 20", n)
	}
	if n := e.count(`SELECT count(DISTINCT event_id) FROM effects`); n != 20 {
		t.Fatalf("distinct events with effects = %d, want 20", n)
	}
	if n := e.count(`SELECT count(*) FROM effects WHERE event_id = $1 AND member = 'b'`, stuckID); n != 1 {
		t.Fatalf("the stuck event was not handled by the replacement")
	}
}

// testPerKeyOrderWithConcurrentPartitionsAndRebalance spreads 10 keys over
// 3 partitions, adds a second group member half-way, and checks that every
// key's events took effect once each, in order.
func testPerKeyOrderWithConcurrentPartitionsAndRebalance(t *testing.T, e *env) {
	const keys, perBatch = 10, 30
	batch := func(from int) []*kgo.Record {
		var recs []*kgo.Record
		for seq := from; seq < from+perBatch; seq++ {
			for k := range keys {
				recs = append(recs, event(fmt.Sprintf("order-%d", k), newID(), "Step", fmt.Sprint(seq)))
			}
		}
		return recs
	}
	handler := func(member string) consumer.Handler {
		return func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			return insertEffect(ctx, tx, ev, member)
		}
	}
	kafkatest.Produce(t, e.addr, e.topic, batch(0)...)
	if parts := len(e.ends(e.topic)); parts != 3 {
		t.Fatalf("records on %d partitions, want 3", parts)
	}
	a := e.start(e.config(e.group("inventory"), handler("a")))
	waitFor(t, 30*time.Second, "a first share of the events", func() bool { return e.count(`SELECT count(*) FROM effects`) >= 60 })
	b := e.start(e.config(e.group("inventory"), handler("b")))
	waitFor(t, 60*time.Second, "both members to own partitions", func() bool { return e.membersWithPartitions(e.group("inventory")) == 2 })
	kafkatest.Produce(t, e.addr, e.topic, batch(perBatch)...)
	const total = 2 * keys * perBatch
	waitFor(t, 60*time.Second, "every event handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) >= total && e.allCommitted(e.group("inventory"), e.topic)
	})
	a.stop(t)
	b.stop(t)

	if n := e.count(`SELECT count(*) FROM effects`); n != total {
		t.Fatalf("effects = %d, want %d", n, total)
	}
	rows, err := e.pool.Query(t.Context(), `SELECT key, n FROM effects ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]int{}
	seen := 0
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[key]; ok && n != prev+1 {
			t.Fatalf("key %s: seq %d took effect after %d", key, n, prev)
		} else if !ok && n != 0 {
			t.Fatalf("key %s: first effect has seq %d", key, n)
		}
		last[key] = n
		seen++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if got := last[fmt.Sprintf("order-%d", k)]; got != 2*perBatch-1 {
			t.Fatalf("key order-%d ends at seq %d, want %d", k, got, 2*perBatch-1)
		}
	}
	for _, m := range []string{"a", "b"} {
		if n := e.count(`SELECT count(*) FROM effects WHERE member = $1`, m); n == 0 {
			t.Fatalf("member %s handled nothing", m)
		}
	}
	// Revoked partitions drained and committed before moving: the next
	// owner was never handed a record that had already taken effect.
	if n := e.duplicates(); n != 0 {
		t.Fatalf("%d records redelivered across the rebalance", n)
	}
}

// testBackloggedPartitionPausesAndResumes feeds one partition a backlog
// larger than its queue bound: fetching must pause and resume, and every
// event still takes effect once, in order.
func testBackloggedPartitionPausesAndResumes(t *testing.T, e *env) {
	const total = 1200
	recs := make([]*kgo.Record, total)
	for i := range recs {
		recs[i] = event("order-1", newID(), "Step", fmt.Sprint(i))
	}
	kafkatest.Produce(t, e.addr, e.topic, recs...)
	r := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		return insertEffect(ctx, tx, ev, "")
	}))
	waitFor(t, 90*time.Second, "the backlog handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) >= total && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := e.count(`SELECT count(*) FROM effects`); n != total {
		t.Fatalf("effects = %d, want %d", n, total)
	}
	if n := e.count(`SELECT count(*) FROM (SELECT n, row_number() OVER (ORDER BY seq) - 1 AS pos FROM effects) s WHERE n <> pos`); n != 0 {
		t.Fatalf("%d events took effect out of order", n)
	}
	if p, r := e.logs.count("partition paused"), e.logs.count("partition resumed"); p == 0 || r == 0 {
		t.Fatalf("paused %d and resumed %d times, want both", p, r)
	}
}

// membersWithPartitions counts the group members that own partitions in a
// stable group.
func (e *env) membersWithPartitions(group string) int {
	perMember, _ := e.assignment(group)
	n := 0
	for _, parts := range perMember {
		if parts > 0 {
			n++
		}
	}
	return n
}

// assignment returns how many partitions each member of the group owns,
// by member id, and whether the group is stable; a group that is not has
// none.
func (e *env) assignment(group string) (map[string]int, bool) {
	e.t.Helper()
	gs, err := e.adm.DescribeGroups(e.t.Context(), group)
	if err != nil {
		e.t.Fatal(err)
	}
	g := gs[group]
	if g.Err != nil || g.State != "Stable" {
		return nil, false
	}
	perMember := map[string]int{}
	for _, m := range g.Members {
		perMember[m.MemberID] = 0
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				perMember[m.MemberID] += len(t.Partitions)
			}
		}
	}
	return perMember, true
}

// testPartitionsAreHandledConcurrently holds the handler of one partition
// until another partition's handler has started; a serial runtime would
// time out.
func testPartitionsAreHandledConcurrently(t *testing.T, e *env) {
	cl := kafkatest.Client(t, e.addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic(e.topic))
	first := event("order-1", newID(), "OrderCreated", "1")
	second := event("order-2", newID(), "OrderCreated", "2")
	first.Partition, second.Partition = 0, 1
	if err := cl.ProduceSync(t.Context(), first, second).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var entered atomic.Int32
	both := make(chan struct{})
	r := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if entered.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
		case <-time.After(20 * time.Second):
			return consumer.Permanent(errors.New("the other partition's handler never started"))
		}
		return insertEffect(ctx, tx, ev, "")
	}))
	waitFor(t, 40*time.Second, "both events handled", func() bool {
		return e.count(`SELECT count(*) FROM inbox`) == 2 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := e.count(`SELECT count(*) FROM effects`); n != 2 {
		t.Fatalf("effects = %d, want 2 (a handler timed out waiting for the other partition)", n)
	}
}

// testGracefulShutdownCommitsExactlyWhatTookEffect cancels Run while a
// handler is in flight. The in-flight record must finish and every
// partition's committed offset must match the effects exactly, so the next
// member neither loses nor repeats anything.
func testGracefulShutdownCommitsExactlyWhatTookEffect(t *testing.T, e *env) {
	const total = 200
	var recs []*kgo.Record
	for i := range total {
		recs = append(recs, event(fmt.Sprintf("order-%d", i%20), newID(), "OrderCreated", fmt.Sprint(i)))
	}
	kafkatest.Produce(t, e.addr, e.topic, recs...)

	var calls atomic.Int32
	inFlight := make(chan string, 1)
	release := make(chan struct{})
	a := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if err := insertEffect(ctx, tx, ev, "a"); err != nil {
			return err
		}
		if calls.Add(1) == 50 {
			inFlight <- ev.ID
			<-release
		}
		return nil
	}))
	var held string
	select {
	case held = <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no handler reached the 50th event")
	}
	a.cancel()
	close(release)
	select {
	case <-a.done:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if a.err != nil {
		t.Fatalf("Run: %v", a.err)
	}
	if n := e.count(`SELECT count(*) FROM effects WHERE event_id = $1`, held); n != 1 {
		t.Fatalf("the record in flight at shutdown did not finish")
	}
	done := e.count(`SELECT count(*) FROM effects`)
	if done >= total {
		t.Fatalf("all %d events handled before shutdown; the test needs some left", done)
	}
	committed := e.committed(e.group("payment"), e.topic)
	for p, end := range e.ends(e.topic) {
		var n, maxOff int64
		if err := e.pool.QueryRow(t.Context(), `SELECT count(*), coalesce(max(kafka_offset), -1) FROM inbox WHERE kafka_partition = $1`, p).Scan(&n, &maxOff); err != nil {
			t.Fatal(err)
		}
		// Partitions are processed in order from offset 0, so the inbox
		// holds offsets 0..n-1 and the commit must be exactly n.
		if maxOff != n-1 {
			t.Fatalf("partition %d: inbox offsets have gaps (%d rows, max %d)", p, n, maxOff)
		}
		if committed[p] != n {
			t.Fatalf("partition %d: committed %d, but %d records took effect (end %d)", p, committed[p], n, end)
		}
	}

	var bCalls atomic.Int32
	b := e.start(e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		bCalls.Add(1)
		return insertEffect(ctx, tx, ev, "b")
	}))
	waitFor(t, 30*time.Second, "the rest handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) >= total && e.allCommitted(e.group("payment"), e.topic)
	})
	b.stop(t)
	if n := e.count(`SELECT count(*) FROM effects`); n != total {
		t.Fatalf("effects = %d, want %d", n, total)
	}
	if n := e.count(`SELECT count(DISTINCT event_id) FROM effects`); n != total {
		t.Fatalf("distinct events with effects = %d, want %d", n, total)
	}
	if n := int(bCalls.Load()); n != total-done {
		t.Fatalf("second member handled %d events, want %d", n, total-done)
	}
	if n := e.duplicates(); n != 0 {
		t.Fatalf("%d records redelivered after the graceful shutdown", n)
	}
}

func testPing(t *testing.T, e *env) {
	cfg := e.config(e.group("payment"), func(context.Context, pgx.Tx, consumer.Event) error { return nil })
	c, err := consumer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(t.Context()); !errors.Is(err, consumer.ErrNotRunning) {
		t.Fatalf("Ping before Run = %v, want ErrNotRunning", err)
	}
	kafkatest.Produce(t, e.addr, e.topic, event("k", newID(), "X", "1"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor(t, 30*time.Second, "Ping to succeed", func() bool { return c.Ping(t.Context()) == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := c.Ping(t.Context()); !errors.Is(err, consumer.ErrNotRunning) {
		t.Fatalf("Ping after Run = %v, want ErrNotRunning", err)
	}
	if err := c.Run(t.Context()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

// testDatabaseOutageDoesNotDeadLetter makes every connection attempt fail
// for a while: the event must wait, not be dead-lettered, and take effect
// once the database is back.
func testDatabaseOutageDoesNotDeadLetter(t *testing.T, e *env) {
	id := newID()
	kafkatest.Produce(t, e.addr, e.topic, event("order-1", id, "OrderCreated", "1"))

	pcfg, err := pgxpool.ParseConfig(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	var dials atomic.Int32
	down.Store(true)
	pcfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
		dials.Add(1)
		if down.Load() {
			return errors.New("connection refused (simulated outage)")
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	cfg := e.config(e.group("payment"), func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		return insertEffect(ctx, tx, ev, "")
	})
	cfg.Pool = pool
	cfg.MaxAttempts = 2
	r := e.start(cfg)
	waitFor(t, 30*time.Second, "many failed connection attempts", func() bool { return dials.Load() >= 10 })
	if n := e.records(e.topic + ".dlq"); n != 0 {
		t.Fatalf("%d records dead-lettered during the outage", n)
	}
	down.Store(false)
	waitFor(t, 30*time.Second, "the event handled and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if n := e.records(e.topic + ".dlq"); n != 0 {
		t.Fatalf("%d records dead-lettered", n)
	}
}

// restartable is a broker of the test's own that the test takes down and
// brings back on the same address with the same data.
type restartable struct {
	addr string
	down func(*testing.T) // stops the broker
	up   func(*testing.T) // starts it again; it stops when the test ends
}

// restartableKinds start a restartable broker of each kind. The shared
// Apache Kafka broker cannot be used: the test kills its broker.
var restartableKinds = []struct {
	name  string
	start func(t *testing.T) restartable
}{
	{"kfake", func(t *testing.T) restartable {
		dir := t.TempDir()
		b := kafkatest.StartBroker(t, kafkatest.DataDir(dir))
		addr := b.Addr()
		return restartable{addr: addr, down: func(*testing.T) { b.Close() }, up: func(t *testing.T) {
			b2, err := kfakebroker.Start(kfakebroker.Config{Addr: addr, DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b2.Close)
		}}
	}},
	{"kafka", func(t *testing.T) restartable {
		port, err := jvmstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ctrl, err := jvmstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		var cfg jvmstack.BrokerConfig
		b := jvmtest.StartBroker(t, func(c *jvmstack.BrokerConfig) {
			c.Port, c.ControllerPort = port, ctrl
			cfg = *c
		})
		// Stopped cleanly, as kfake's Close is: a killed broker takes
		// several times as long to start again.
		down := func(t *testing.T) {
			if err := b.Stop(); err != nil {
				t.Error(err)
			}
		}
		return restartable{addr: b.Addr(), down: down, up: func(t *testing.T) {
			b2, err := jvmstack.StartBroker(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := b2.Stop(); err != nil {
					t.Error(err)
				}
			})
		}}
	}},
}

// TestDeadLetterSurvivesABrokerOutage takes the broker down just as a
// record must be dead-lettered: the produce fails, nothing is committed, and
// once the broker is back on the same address the record is redelivered or
// retried and reaches the dead-letter topic. Each kind gets a broker of its
// own, since this one is killed.
func TestDeadLetterSurvivesABrokerOutage(t *testing.T) {
	for _, kind := range restartableKinds {
		t.Run(kind.name, func(t *testing.T) {
			var b restartable
			e := newEnv(t, broker{addr: func(t *testing.T) string {
				b = kind.start(t)
				return b.addr
			}})
			testDeadLetterSurvivesABrokerOutage(t, e, b)
		})
	}
}

func testDeadLetterSurvivesABrokerOutage(t *testing.T, e *env, b restartable) {
	id := newID()
	kafkatest.Produce(t, e.addr, e.topic,
		event("order-1", id, "Poison", "1"),
		event("order-1", newID(), "OrderCreated", "2"),
	)

	var downOnce sync.Once
	cfg := e.config(e.group("payment"), consumer.Mux{
		"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error { return insertEffect(ctx, tx, ev, "") },
		"Poison": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			downOnce.Do(func() { b.down(t) })
			return consumer.Permanent(errors.New("malformed order"))
		},
	}.Handle)
	cfg.AttemptTimeout = time.Second
	// One record per transaction: in a batch the poison record's handler
	// (which takes the broker down, a second or more) would roll the batch
	// back, and the partition is often lost before the record goes again
	// alone, so no dead-letter produce would be tried while the broker is
	// down. TestBatches covers poison records in batches.
	cfg.BatchSize = 1
	r := e.start(cfg)
	waitFor(t, 30*time.Second, "a failed dead-letter produce", func() bool {
		return e.logs.count("dead-letter produce failed; retrying") >= 1
	})
	if n := e.count(`SELECT count(*) FROM inbox`); n != 0 {
		t.Fatalf("inbox rows = %d while the dead-letter produce fails, want 0", n)
	}

	b.up(t)
	dlq := kafkatest.Consume(t, e.addr, e.topic+".dlq", 1, 60*time.Second)
	waitFor(t, 60*time.Second, "both records finished and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) == 1 && e.allCommitted(e.group("payment"), e.topic)
	})
	r.stop(t)
	if got := first(dlq[0], "id"); got != id {
		t.Fatalf("dead-lettered id = %q, want %q", got, id)
	}
	if got := headers(dlq[0])[consumer.HeaderDLQError]; got != "malformed order" {
		t.Fatalf("dlq.error = %q", got)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE event_id = $1 AND outcome = 'dead_lettered'`, id); n != 1 {
		t.Fatalf("dead_lettered inbox rows = %d, want 1", n)
	}
}
