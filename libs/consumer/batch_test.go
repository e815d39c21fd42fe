package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// insertEffectInTx records the event's effect with the id of the database
// transaction that applied it, so a test can tell records applied together.
func insertEffectInTx(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, key, n, member) VALUES ($1, $2, $3::int, txid_current()::text)`,
		ev.ID, ev.Key, string(ev.Payload))
	return err
}

// backlog produces n events of one key (so one partition, in order), with
// payloads 1..n, and returns their ids; poison lists the 1-based positions
// that get the type "Poison".
func backlog(t *testing.T, e *env, n int, poison ...int) []string {
	t.Helper()
	ids := make([]string, n)
	recs := make([]*kgo.Record, n)
	for i := range n {
		ids[i] = newID()
		typ := "OrderCreated"
		if slices.Contains(poison, i+1) {
			typ = "Poison"
		}
		recs[i] = event("order-1", ids[i], typ, strconv.Itoa(i+1))
	}
	kafkatest.Produce(t, e.addr, e.topic, recs...)
	return ids
}

// effects returns the n of every effect in the order they were written,
// and how many distinct transactions wrote them.
func (e *env) effects() (ns []int, txs int) {
	ns, byTx := e.effectsByTx()
	return ns, len(byTx)
}

// effectsByTx returns the n of every effect in the order they were
// written, and those of each transaction that wrote some, in order.
func (e *env) effectsByTx() (ns []int, byTx map[string][]int) {
	e.t.Helper()
	rows, err := e.pool.Query(e.t.Context(), `SELECT n, member FROM effects ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	byTx = map[string][]int{}
	for rows.Next() {
		var n int
		var tx string
		if err := rows.Scan(&n, &tx); err != nil {
			e.t.Fatal(err)
		}
		ns = append(ns, n)
		byTx[tx] = append(byTx[tx], n)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return ns, byTx
}

// rewind commits offset 0 of every partition of the topic for group, as
// if the offsets of everything it consumed were lost.
func (e *env) rewind(group string) {
	e.t.Helper()
	offs := kadm.Offsets{}
	for p := range e.ends(e.topic) {
		offs.Add(kadm.Offset{Topic: e.topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	if _, err := e.adm.CommitOffsets(e.t.Context(), group, offs); err != nil {
		e.t.Fatal(err)
	}
}

// consumeAll starts a consumer with cfg and waits until its group has
// committed every record of the topic; the test stops it, or its end does.
func (e *env) consumeAll(cfg consumer.Config, what string) *running {
	e.t.Helper()
	r := e.start(cfg)
	waitFor(e.t, 30*time.Second, what, func() bool { return e.allCommitted(cfg.Group, e.topic) })
	return r
}

func seq(from, to int, skip ...int) []int {
	var out []int
	for i := from; i <= to; i++ {
		if !slices.Contains(skip, i) {
			out = append(out, i)
		}
	}
	return out
}

// TestBatches checks the consumer's batches: records that queued up are
// applied several to a transaction, and every guarantee of one record per
// transaction still holds.
func TestBatches(t *testing.T) {
	kfake := brokerKinds[0]

	t.Run("a backlog is applied in few transactions, in order, once", func(t *testing.T) {
		e := newEnv(t, kfake.setup(t))
		backlog(t, e, 40)
		group := e.group("payment")
		cfg := e.config(group, consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			return insertEffectInTx(ctx, tx, ev)
		}}.Handle)
		cfg.BatchSize = 8
		r := e.consumeAll(cfg, "the backlog applied and committed")
		r.stop(t)
		ns, txs := e.effects()
		if !slices.Equal(ns, seq(1, 40)) {
			t.Fatalf("effects %v, want 1..40 once each in offset order", ns)
		}
		if txs > 20 {
			t.Errorf("40 queued records took %d transactions with BatchSize 8, want batches (at most 20)", txs)
		}

		// The offsets are lost after the batches committed (a crash between
		// the commit and the offset commit): the records come again, and
		// every one is a duplicate.
		e.rewind(group)
		before := e.duplicates()
		e.consumeAll(cfg, "the redelivered batches committed")
		if got := e.duplicates() - before; got != 40 {
			t.Errorf("%d duplicates skipped on redelivery, want 40", got)
		}
		if ns, _ := e.effects(); !slices.Equal(ns, seq(1, 40)) {
			t.Fatalf("effects after redelivery %v, want still 1..40 once each", ns)
		}
	})

	t.Run("a poison record mid-batch is dead-lettered and the rest applied once, in order", func(t *testing.T) {
		e := newEnv(t, kfake.setup(t))
		ids := backlog(t, e, 12, 5, 9)
		group := e.group("payment")
		var c calls
		cfg := e.config(group, consumer.Mux{
			"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
				c.add(ev.ID)
				return insertEffectInTx(ctx, tx, ev)
			},
			"Poison": func(context.Context, pgx.Tx, consumer.Event) error {
				return consumer.Permanent(errors.New("never valid"))
			},
		}.Handle)
		cfg.BatchSize = 16
		e.consumeAll(cfg, "every record finished")
		if ns, _ := e.effects(); !slices.Equal(ns, seq(1, 12, 5, 9)) {
			t.Fatalf("effects %v, want 1..12 but 5 and 9, once each, in offset order", ns)
		}
		if got := e.records(e.topic + consumer.DLQSuffix); got != 2 {
			t.Errorf("%d dead letters, want the 2 poison records", got)
		}
		// The batch rolled back and its records went one at a time: the
		// handler ran again for the good records of the failed batch.
		if c.get(ids[0]) < 2 {
			t.Errorf("the first record's handler ran %d times, want a rolled-back batch and a retry alone", c.get(ids[0]))
		}
	})

	t.Run("a rebalance mid-batch applies every record once, in order", func(t *testing.T) {
		testRebalanceMidBatch(t, newEnv(t, kfake.setup(t)))
	})
}

// owned returns the members of a stable group and how many partitions
// they own in all (0, 0 while it rebalances).
func (e *env) owned(group string) (members, partitions int) {
	perMember, ok := e.assignment(group)
	if !ok {
		return 0, 0
	}
	for _, n := range perMember {
		partitions += n
	}
	return len(perMember), partitions
}

// testRebalanceMidBatch holds a batch's transaction open in every
// partition, between two of its records, while a second member joins the
// group, and lets them go on once a partition has been taken from the
// first member; more records follow once both members own partitions.
// Every record takes effect once, in order per key, whichever member
// applied it, and none is handed to the new owner after it took effect.
func testRebalanceMidBatch(t *testing.T, e *env) {
	const keys, perKey = 6, 60 // half before the second member joins, half after
	wave := func(from, to int) {
		var recs []*kgo.Record
		for n := from; n <= to; n++ {
			for k := range keys {
				recs = append(recs, event(fmt.Sprintf("order-%d", k), newID(), "OrderCreated", strconv.Itoa(n)))
			}
		}
		kafkatest.Produce(t, e.addr, e.topic, recs...)
	}
	wave(1, perKey/2)
	group := e.group("payment")
	parts := len(e.ends(e.topic))
	// Every partition's worker is held, so whichever partition the
	// rebalance moves has a batch open when it does.
	reached, proceed := make(chan string, parts), make(chan struct{})
	var mu sync.Mutex
	holding := map[int32]bool{}
	member := func(name string, hold bool) consumer.Config {
		cfg := e.config(group, consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			// A partition's first record with payload 3 comes after at
			// least two others of the partition: with a backlog, in the
			// middle of a batch.
			mu.Lock()
			first := hold && string(ev.Payload) == "3" && !holding[ev.Partition]
			holding[ev.Partition] = holding[ev.Partition] || first
			mu.Unlock()
			if first {
				reached <- ev.ID
				select {
				case <-proceed:
				case <-time.After(time.Minute):
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, key, n, member) VALUES ($1, $2, $3::int, $4 || ':' || txid_current())`,
				ev.ID, ev.Key, string(ev.Payload), name)
			return err
		}}.Handle)
		cfg.BatchSize = 8
		cfg.Logger = cfg.Logger.With("member", name)
		return cfg
	}
	a := e.start(member("a", true))
	held := map[string]bool{}
	for range parts {
		select {
		case id := <-reached:
			held[id] = true
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d partitions reached a held record", len(held), parts)
		}
	}
	b := e.start(member("b", false))
	// The cooperative rebalance first takes a partition from the first
	// member, which must finish its batch before the partition moves: the
	// group is stable, with two members and a partition that neither owns.
	waitFor(t, 30*time.Second, "a partition revoked from the first member, its batch held", func() bool {
		members, owned := e.owned(group)
		return members == 2 && owned < parts
	})
	close(proceed)
	waitFor(t, 60*time.Second, "both members to own partitions", func() bool { return e.membersWithPartitions(group) == 2 })
	wave(perKey/2+1, perKey)
	waitFor(t, 60*time.Second, "every record applied and committed", func() bool {
		return e.count(`SELECT count(*) FROM effects`) >= keys*perKey && e.allCommitted(group, e.topic)
	})
	a.stop(t)
	b.stop(t)

	rows, err := e.pool.Query(t.Context(), `SELECT event_id::text, key, n, member FROM effects ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	last, byMember, byTx := map[string]int{}, map[string]int{}, map[string]int{}
	var heldTxs []string
	for rows.Next() {
		var id, key, tx string
		var n int
		if err := rows.Scan(&id, &key, &n, &tx); err != nil {
			t.Fatal(err)
		}
		if n != last[key]+1 {
			t.Fatalf("key %s: %d took effect after %d", key, n, last[key])
		}
		last[key] = n
		byMember[strings.SplitN(tx, ":", 2)[0]]++
		byTx[tx]++
		if held[id] {
			heldTxs = append(heldTxs, tx)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if got := last[fmt.Sprintf("order-%d", k)]; got != perKey {
			t.Errorf("key order-%d ends at %d, want %d", k, got, perKey)
		}
	}
	if byMember["a"] == 0 || byMember["b"] == 0 {
		t.Errorf("records applied by member: %v, want both", byMember)
	}
	for _, tx := range heldTxs {
		if byTx[tx] < 2 {
			t.Errorf("a held record's transaction applied %d records, want a batch", byTx[tx])
		}
	}
	if n := e.duplicates(); n != 0 {
		t.Errorf("%d records handed to a member after they took effect", n)
	}
}

// TestLockBatch checks Config.LockBatch: its statements run once at the
// start of each batch's transaction, in the round trip of the inbox
// claims, for the batch's events, duplicates included; they wait up to
// BatchLockWait where the handlers wait the usual lock timeout; and when
// the hook or one of its statements fails the records go one at a time,
// each applied once.
func TestLockBatch(t *testing.T) {
	kfake := brokerKinds[0]
	type call struct {
		tx      string
		ns      []int
		timeout string
	}
	handler := func(timeouts *[]string) consumer.Handler {
		return consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			var timeout string
			if err := tx.QueryRow(ctx, "SHOW lock_timeout").Scan(&timeout); err != nil {
				return err
			}
			*timeouts = append(*timeouts, timeout)
			return insertEffectInTx(ctx, tx, ev)
		}}.Handle
	}

	t.Run("once per batch, first, with its events", func(t *testing.T) {
		e := newEnv(t, kfake.setup(t))
		backlog(t, e, 24)
		group := e.group("inventory")
		var calls []*call
		var timeouts []string
		cfg := e.config(group, handler(&timeouts))
		cfg.BatchSize = 8
		cfg.LockBatch = func(ctx context.Context, b *pgx.Batch, evs []consumer.Event) error {
			c := &call{}
			for _, ev := range evs {
				n, err := strconv.Atoi(string(ev.Payload))
				if err != nil {
					return err
				}
				c.ns = append(c.ns, n)
			}
			b.Queue("SELECT txid_current()::text, current_setting('lock_timeout')").QueryRow(func(row pgx.Row) error {
				return row.Scan(&c.tx, &c.timeout)
			})
			calls = append(calls, c)
			return nil
		}
		r := e.consumeAll(cfg, "the backlog applied and committed")
		r.stop(t)
		// Every batch's effects are the events its LockBatch saw, in order.
		ns, byTx := e.effectsByTx()
		if !slices.Equal(ns, seq(1, 24)) {
			t.Fatalf("effects %v, want 1..24 once each in offset order", ns)
		}
		if len(calls) == 0 {
			t.Fatal("LockBatch never ran: no batch formed")
		}
		for _, c := range calls {
			if !slices.Equal(byTx[c.tx], c.ns) || c.timeout != consumer.BatchLockWait.String() {
				t.Errorf("LockBatch in transaction %s saw %v with lock_timeout %s; the transaction applied %v", c.tx, c.ns, c.timeout, byTx[c.tx])
			}
		}
		for tx, ns := range byTx {
			if len(ns) > 1 && !slices.ContainsFunc(calls, func(c *call) bool { return c.tx == tx }) {
				t.Errorf("batch %s applied %v without LockBatch", tx, ns)
			}
		}
		for _, timeout := range timeouts {
			if timeout != "50ms" && timeout != "0" { // a batch's handlers, or a record alone
				t.Errorf("a handler ran with lock_timeout %s", timeout)
			}
		}

		// Redelivered, every event is a duplicate: the batches still lock
		// (the claims' answers come in the same round trip), and apply
		// nothing.
		e.rewind(group)
		before := len(calls)
		e.consumeAll(cfg, "the redelivered records committed")
		if len(calls) == before {
			t.Error("LockBatch did not run for batches of duplicates")
		}
		for _, c := range calls[before:] {
			if len(c.ns) == 0 || c.tx == "" {
				t.Errorf("LockBatch for redelivered records saw %v in transaction %q", c.ns, c.tx)
			}
		}
		if ns, _ := e.effects(); !slices.Equal(ns, seq(1, 24)) {
			t.Errorf("effects after the redelivery %v, want 1..24 once each", ns)
		}
	})

	for _, tc := range []struct {
		name string
		lock func(b *pgx.Batch) error
	}{
		{"a failure sends the records one at a time", func(*pgx.Batch) error { return errors.New("locks unavailable") }},
		{"a failing lock statement sends the records one at a time", func(b *pgx.Batch) error {
			b.Queue("SELECT 1/0")
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kfake.setup(t))
			backlog(t, e, 12)
			group := e.group("inventory")
			var timeouts []string
			cfg := e.config(group, handler(&timeouts))
			cfg.BatchSize = 8
			ran := 0
			cfg.LockBatch = func(_ context.Context, b *pgx.Batch, _ []consumer.Event) error {
				ran++
				return tc.lock(b)
			}
			e.consumeAll(cfg, "every record finished")
			ns, txs := e.effects()
			if !slices.Equal(ns, seq(1, 12)) || txs != 12 {
				t.Fatalf("effects %v in %d transactions, want 1..12 once each, one per transaction", ns, txs)
			}
			if ran == 0 {
				t.Error("LockBatch never ran")
			}
		})
	}
}
