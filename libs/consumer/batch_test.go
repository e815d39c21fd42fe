package consumer_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
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
	e.t.Helper()
	rows, err := e.pool.Query(e.t.Context(), `SELECT n, member FROM effects ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	seen := map[string]bool{}
	for rows.Next() {
		var n int
		var tx string
		if err := rows.Scan(&n, &tx); err != nil {
			e.t.Fatal(err)
		}
		ns = append(ns, n)
		seen[tx] = true
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return ns, len(seen)
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
		r := e.start(cfg)
		waitFor(t, 30*time.Second, "the backlog applied and committed", func() bool { return e.allCommitted(group, e.topic) })
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
		offs := kadm.Offsets{}
		for p := range e.ends(e.topic) {
			offs.Add(kadm.Offset{Topic: e.topic, Partition: p, At: 0, LeaderEpoch: -1})
		}
		if _, err := e.adm.CommitOffsets(t.Context(), group, offs); err != nil {
			t.Fatal(err)
		}
		before := e.duplicates()
		e.start(cfg)
		waitFor(t, 30*time.Second, "the redelivered batches committed", func() bool { return e.allCommitted(group, e.topic) })
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
		e.start(cfg)
		waitFor(t, 30*time.Second, "every record finished", func() bool { return e.allCommitted(group, e.topic) })
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
}
