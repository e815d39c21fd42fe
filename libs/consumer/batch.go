package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

// process takes records a worker took from its partition's queue, in
// offset order, to their final states and calls finish for each finished
// one, in order. The leading run of decodable events is applied in one
// transaction (applyBatch) when two or more of them are of types the
// handler takes; the others of the run (ignored types) are claimed by no
// one and finished in their place after the commit. When that transaction
// fails, the run's records go one at a time through handle, which isolates
// the one that failed, retries or dead-letters it, and applies the others.
// A run with fewer than two such events goes one record at a time, and so
// do control records and undecodable records. size is the partition's
// current batch limit (see batchSize); the caller takes at most that many
// records. It reports false when stop ended it first: no record starts
// after stop, and an unfinished one is left for redelivery with everything
// after it.
func (c *Consumer) process(stop context.Context, cl *kgo.Client, recs []*kgo.Record, size *batchSize, finish func(*kgo.Record)) bool {
	for len(recs) > 0 {
		if stop.Err() != nil {
			return false
		}
		evs := decodeRun(recs)
		run := recs[:len(evs)]
		if batch, batchEvs := c.taken(run, evs); len(batch) >= 2 {
			if c.applyBatch(stop, batch, batchEvs) {
				size.succeeded()
				for i, r := range run {
					if !c.takes(evs[i].Type) {
						c.ignore(stop, r, evs[i])
					}
					finish(r)
				}
			} else {
				size.failed()
				for _, r := range run {
					if stop.Err() != nil || !c.handle(stop, cl, r) {
						return false
					}
					finish(r)
				}
			}
			recs = recs[len(run):]
			continue
		}
		// At most one event of the run needs a transaction: the run goes
		// one record at a time, ignored types without one. A record that
		// is no event (a control or undecodable record) goes alone.
		alone := recs[:max(1, len(run))]
		for _, r := range alone {
			// A transaction marker carries no event; it only takes an
			// offset, which is finished like any other.
			if stop.Err() != nil || !r.Attrs.IsControl() && !c.handle(stop, cl, r) {
				return false
			}
			size.succeeded()
			finish(r)
		}
		recs = recs[len(alone):]
	}
	return true
}

// batchSize is a partition's batch limit: Config.BatchSize while batches
// commit; a batch that rolls back (a lock conflict with another
// partition's batch, usually, under load) quarters it, and every record
// finished without one grows it back by one, so a partition whose batches
// keep conflicting settles near one record per transaction, where no
// deadlock between batches can happen, instead of paying for rollbacks.
type batchSize struct{ cur, max int }

func (b *batchSize) succeeded() { b.cur = min(b.max, b.cur+1) }
func (b *batchSize) failed()    { b.cur = max(1, b.cur/4) }

// decodeRun decodes the leading records of recs that are events with a
// usable id, stopping at the first that is not.
func decodeRun(recs []*kgo.Record) []Event {
	var evs []Event
	for _, r := range recs {
		if r.Attrs.IsControl() {
			break
		}
		ev, err := decode(r)
		if err != nil {
			break
		}
		evs = append(evs, ev)
	}
	return evs
}

// taken returns the records of run, and their events of evs, whose type
// the handler takes.
func (c *Consumer) taken(run []*kgo.Record, evs []Event) ([]*kgo.Record, []Event) {
	if c.types == nil {
		return run, evs
	}
	var recs []*kgo.Record
	var taken []Event
	for i, ev := range evs {
		if c.takes(ev.Type) {
			recs, taken = append(recs, run[i]), append(taken, ev)
		}
	}
	return recs, taken
}

// applyBatch applies evs (the events of recs) in one transaction: all are
// claimed in the inbox by one statement, and each new one is validated and
// handed to the handler, in order; one commit for all. It reports true once
// that commit succeeded (every record is then finished), false when anything
// failed: the transaction is rolled back, nothing took effect, and the
// caller handles the records one at a time. The transaction runs to its end
// even after stop, like one attempt of handle.
func (c *Consumer) applyBatch(stop context.Context, recs []*kgo.Record, evs []Event) bool {
	ctx, cancel := c.attemptContext(stop)
	defer cancel()
	ctxs, spans := make([]context.Context, len(recs)), make([]trace.Span, len(recs))
	for i, r := range recs {
		ctxs[i], spans[i] = c.startRecordSpan(ctx, r)
		spans[i].SetAttributes(attribute.Int("consumer.batch.size", len(recs)))
	}
	outcomes, err := c.batchTx(ctx, ctxs, evs)
	if err != nil {
		c.log.Debug("batch rolled back; its records are retried one at a time",
			"topic", recs[0].Topic, "partition", recs[0].Partition, "offset", recs[0].Offset, "records", len(recs), "error", err)
		for _, s := range spans {
			s.AddEvent("batch rolled back; retried alone", trace.WithAttributes(attribute.String("error", err.Error())))
			s.End()
		}
		return false
	}
	for i, ev := range evs {
		c.outcome(ctxs[i], ev.Topic, ev.Type, outcomes[i])
		spans[i].End()
	}
	return true
}

// batchLockTimeout bounds how long a batch's statement waits for a row
// lock. Batches of different partitions that lock shared rows (a stock
// row, an account) in different orders deadlock, and PostgreSQL would
// break the cycle only after deadlock_timeout (1 s by default) with the
// partitions standing still; a batch that waits this long instead rolls
// back at once and its records go one at a time, without the limit.
const batchLockTimeout = "50ms"

// BatchLockWait bounds how long Config.LockBatch waits for its locks.
// Batches that lock their shared rows up front, in one order, cannot
// deadlock with each other: one waits for another to commit, which takes
// milliseconds, or longer on a saturated machine.
const BatchLockWait = time.Second

// beginBatch begins a batch's transaction with its lock timeout set (to
// BatchLockWait when the batch locks its rows up front first); the BEGIN
// and the setting travel with the batch's inbox claim and locks.
func beginBatch(pool *pgxpool.Pool, lockFirst bool) pgtx.Deferred {
	timeout := batchLockTimeout
	if lockFirst {
		timeout = BatchLockWait.String()
	}
	return pgtx.Deferred{Pool: pool, Setup: []string{"SET LOCAL lock_timeout = '" + timeout + "'"}}
}

// batchTx runs applyBatch's transaction and returns each event's outcome.
func (c *Consumer) batchTx(ctx context.Context, ctxs []context.Context, evs []Event) ([]string, error) {
	lock := c.cfg.LockBatch
	tx, err := pgtx.Begin(ctx, beginBatch(c.cfg.Pool, lock != nil))
	if err != nil {
		return nil, fmt.Errorf("consumer: begin: %w", err)
	}
	defer rollback(ctx, tx)
	// One statement claims the whole batch; a second copy of an event
	// within it is a duplicate like any other. The locks follow it in the
	// same round trip, then the handlers' shorter lock wait.
	deliveries := make([]inbox.Delivery, len(evs))
	for i, ev := range evs {
		deliveries[i] = inbox.Delivery{EventID: ev.ID, Topic: ev.Topic, Partition: ev.Partition, Offset: ev.Offset, EventType: ev.Type}
	}
	b := &pgx.Batch{}
	claimed, err := inbox.QueueClaimAll(b, c.cfg.InboxTable, c.cfg.Group, deliveries)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		if err := lock(ctx, b, evs); err != nil {
			return nil, fmt.Errorf("consumer: lock the batch's rows: %w", err)
		}
		b.Queue("SET LOCAL lock_timeout = '" + batchLockTimeout + "'")
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, beginError(err)
	}
	outcomes := make([]string, len(evs))
	for i, ev := range evs {
		if !claimed[i] {
			outcomes[i] = OutcomeDuplicate
			c.log.Debug("duplicate event skipped", "topic", ev.Topic, "partition", ev.Partition, "offset", ev.Offset,
				"event_id", ev.ID, "event_type", ev.Type)
			continue
		}
		start := time.Now()
		err = c.call(ctxs[i], tx, ev, c.validator(ev))
		c.cfg.Metrics.handled(c.cfg.Group, ev.Topic, ev.Type, time.Since(start))
		if err != nil {
			return nil, fmt.Errorf("event %s at offset %d: %w", ev.ID, ev.Offset, err)
		}
		outcomes[i] = OutcomeProcessed
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("consumer: commit: %w", err)
	}
	return outcomes, nil
}
