package consumer

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Queue bounds per partition: fetching of a partition pauses when its
// worker has pauseAt records waiting and resumes when it is down to
// resumeAt, so a slow partition neither blocks the poll loop (and with it
// the other partitions and rebalances) nor grows without bound. Records
// held back by a pause stay in the broker, not in memory.
const (
	pauseAt  = 512
	resumeAt = 128
)

// worker processes one assigned partition in offset order.
type worker struct {
	c      *Consumer
	cl     *kgo.Client
	at     tp
	ctx    context.Context // canceled when the partition is revoked, lost, or the consumer stops
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu     sync.Mutex
	queue  []*kgo.Record
	paused bool
	// end is the partition's last stable offset as of its latest fetch,
	// position the offset after the last finished record; -1 until the
	// first fetch with records. Their difference is consumer_lag.
	end, position int64
	stopped       bool // set by wait: the lag is no longer reported
}

// newWorker is called with c.mu held.
func newWorker(c *Consumer, cl *kgo.Client, at tp) *worker {
	ctx, cancel := context.WithCancel(c.base)
	return &worker{
		c: c, cl: cl, at: at,
		ctx: ctx, cancel: cancel,
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		end:  -1, position: -1,
	}
}

func (w *worker) parts() map[string][]int32 {
	return map[string][]int32{w.at.topic: {w.at.partition}}
}

// push queues records and notes the partition's end offset; called by the
// poll loop only.
func (w *worker) push(recs []*kgo.Record, end int64) {
	w.mu.Lock()
	if len(recs) > 0 && w.position < 0 {
		// The position before the first record fetched: where the
		// group's committed offset left the partition.
		w.position = recs[0].Offset
	}
	w.end = max(w.end, end)
	w.reportLagLocked()
	if len(recs) == 0 {
		w.mu.Unlock()
		return
	}
	w.queue = append(w.queue, recs...)
	if !w.paused && len(w.queue) >= pauseAt {
		w.paused = true
		w.cl.PauseFetchPartitions(w.parts())
		w.c.log.Debug("partition paused", "topic", w.at.topic, "partition", w.at.partition, "queued", len(w.queue))
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// next returns the records waiting, at most max of them (at least one),
// or nil once the worker is stopped.
func (w *worker) next(max int) []*kgo.Record {
	for {
		if w.ctx.Err() != nil {
			return nil
		}
		w.mu.Lock()
		if len(w.queue) > 0 {
			n := min(max, len(w.queue))
			recs := make([]*kgo.Record, n)
			copy(recs, w.queue)
			clear(w.queue[:n])
			w.queue = w.queue[n:]
			if w.paused && len(w.queue) <= resumeAt {
				w.paused = false
				w.cl.ResumeFetchPartitions(w.parts())
				w.c.log.Debug("partition resumed", "topic", w.at.topic, "partition", w.at.partition, "queued", len(w.queue))
			}
			w.mu.Unlock()
			return recs
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return nil
		}
	}
}

// run handles records until stopped, taking whatever has queued up to
// the partition's batch limit at a time (see Consumer.process and
// batchSize). An offset is marked
// for commit only after its record is finished: its transaction
// committed, or it was dead-lettered. A record abandoned by a stop is not
// marked, and neither is anything after it.
func (w *worker) run() {
	defer close(w.done)
	size := &batchSize{cur: w.c.cfg.BatchSize, max: w.c.cfg.BatchSize}
	for {
		recs := w.next(size.cur)
		if recs == nil {
			return
		}
		if !w.c.process(w.ctx, w.cl, recs, size, w.finish) {
			return
		}
	}
}

// finish marks r's offset for commit and notes it is finished.
func (w *worker) finish(r *kgo.Record) {
	w.cl.MarkCommitRecords(r)
	w.finished(r)
}

// finished notes that r is finished (its offset marked).
func (w *worker) finished(r *kgo.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.position = r.Offset + 1
	w.reportLagLocked()
}

// reportLagLocked sets consumer_lag for the partition once both its end
// and its position are known; called with w.mu held.
func (w *worker) reportLagLocked() {
	if !w.stopped && w.end >= 0 && w.position >= 0 {
		w.c.cfg.Metrics.setLag(w.c.cfg.Group, w.at.topic, w.at.partition, w.end-w.position)
	}
}

// wait waits for run to return, then resumes the partition if it was
// paused, so a later assignment of it fetches again.
func (w *worker) wait() {
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = nil
	if w.paused {
		w.paused = false
		w.cl.ResumeFetchPartitions(w.parts())
	}
	// The partition is no longer this member's to report.
	w.stopped = true
	w.c.cfg.Metrics.forgetLag(w.c.cfg.Group, w.at.topic, w.at.partition)
}
