package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/orderload"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/proccpu"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
)

// The kinds of step.
const (
	kindOpen   = "open"   // orders sent on a schedule
	kindClosed = "closed" // clients sending their next order when answered
	kindWrite  = "write"  // POST /orders alone, the orders connector paused
)

// stepResult is one line of the table.
type stepResult struct {
	name     string
	kind     string
	offered  float64 // orders per second; 0 for the closed loop
	duration time.Duration

	posted, failed int
	postRate       float64       // accepted POSTs per second
	postP50        time.Duration // POST latency
	postP99        time.Duration
	terminal       int     // orders of the step terminal by its end
	terminalRate   float64 // per second, within the step
	backlog        int     // orders of the step still pending at its end
	unsettled      int     // still pending after the drain
	c2tP50         time.Duration
	c2tP99         time.Duration
	c2tMax         time.Duration
	cpu            map[string]float64 // CPU seconds by process, step and drain
	// writeTx is how many transaction ids PostgreSQL assigned, in every
	// database, during the step and its drain: the transactions that
	// wrote (committed or rolled back).
	writeTx int64
}

// txPerOrder is the step's write transactions per order placed, 0 when
// not measured.
func (s stepResult) txPerOrder() float64 {
	if s.writeTx <= 0 || s.posted == 0 {
		return 0
	}
	return float64(s.writeTx) / float64(s.posted)
}

// cpuPerOrder is the CPU milliseconds the stack (every process but the
// benchmark itself) spent per order placed, over the step and its drain;
// 0 when not measured.
func (s stepResult) cpuPerOrder() float64 {
	if s.posted == 0 || len(s.cpu) == 0 {
		return 0
	}
	var total float64
	for proc, sec := range s.cpu {
		if proc != "benchsaga" {
			total += sec
		}
	}
	return total * 1000 / float64(s.posted)
}

// collector gathers a step's POST results.
type collector struct {
	mu        sync.Mutex
	ids       []string
	latencies []time.Duration
	failed    int
	firstErr  error
}

func (c *collector) add(r orderload.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Err != nil {
		c.failed++
		if c.firstErr == nil {
			c.firstErr = r.Err
		}
		return
	}
	c.ids = append(c.ids, r.ID)
	c.latencies = append(c.latencies, r.Latency)
}

// runner runs the steps against one stack.
type runner struct {
	api     *orderload.API
	world   *orderload.World
	orders  *pgxpool.Pool // the orders database
	stack   *stackstate.Stack
	rng     *rand.Rand
	next    int // index of the next order
	drain   time.Duration
	connect string // Kafka Connect REST API's base URL, "" if none
}

func (r *runner) order(int) orderload.Order {
	o := r.world.Order(r.next, r.rng)
	r.next++
	return o
}

// open runs an open-loop step at rate.
func (r *runner) open(ctx context.Context, rate float64, d time.Duration) (stepResult, error) {
	res := stepResult{name: fmt.Sprintf("open %g/s", rate), kind: kindOpen, offered: rate}
	var c collector
	n := int(rate * d.Seconds())
	var mu sync.Mutex // the order generator is not safe for concurrent use
	next := func(i int) orderload.Order { mu.Lock(); defer mu.Unlock(); return r.order(i) }
	err := r.measure(ctx, &res, &c, func() {
		r.api.OpenLoop(ctx, rate, n, 4096, next, c.add)
	})
	return res, err
}

// closedLoop runs a closed-loop step of clients clients.
func (r *runner) closedLoop(ctx context.Context, clients int, d time.Duration) (stepResult, error) {
	res := stepResult{name: fmt.Sprintf("closed %d clients", clients), kind: kindClosed}
	var c collector
	err := r.measure(ctx, &res, &c, func() { r.api.ClosedLoop(ctx, clients, d, r.order, c.add) })
	return res, err
}

// measure runs load, then reads what became of its orders: at the end of
// the load (throughput, backlog) and once they settled (latency), with the
// CPU each process used meanwhile.
func (r *runner) measure(ctx context.Context, res *stepResult, c *collector, load func()) error {
	cpu0, err := r.cpu()
	if err != nil {
		return err
	}
	xid0, err := r.nextXID(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	load()
	end := time.Now()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	res.duration = end.Sub(start)
	res.posted, res.failed = len(c.ids), c.failed
	if res.posted == 0 {
		return fmt.Errorf("%s: no order accepted (first error: %v)", res.name, c.firstErr)
	}
	res.postRate = float64(res.posted) / res.duration.Seconds()
	res.postP50, res.postP99 = quantile(c.latencies, 0.5), quantile(c.latencies, 0.99)

	// Orders terminal within the step, by the order's own clock.
	const counts = `SELECT count(*) FILTER (WHERE status <> 'PENDING' AND updated_at <= $2),
	                       count(*) FILTER (WHERE status = 'PENDING')
	                  FROM orders WHERE id = ANY($1::uuid[])`
	if err := r.orders.QueryRow(ctx, counts, c.ids, end).Scan(&res.terminal, &res.backlog); err != nil {
		return fmt.Errorf("reading the step's orders: %w", err)
	}
	res.terminalRate = float64(res.terminal) / res.duration.Seconds()

	// Let the step's orders settle before the next step, then read their
	// create-to-terminal times.
	if res.unsettled, err = r.settle(ctx, c.ids); err != nil {
		return err
	}
	rows, err := r.orders.Query(ctx, `SELECT updated_at - created_at FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'PENDING'`, c.ids)
	if err != nil {
		return err
	}
	var c2t []time.Duration
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			return err
		}
		c2t = append(c2t, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	res.c2tP50, res.c2tP99 = quantile(c2t, 0.5), quantile(c2t, 0.99)
	if len(c2t) > 0 {
		res.c2tMax = slices.Max(c2t)
	}
	xid1, err := r.nextXID(ctx)
	if err != nil {
		return err
	}
	res.writeTx = xid1 - xid0
	cpu1, err := r.cpu()
	if err != nil {
		return err
	}
	res.cpu = map[string]float64{}
	for k, v := range cpu1 {
		res.cpu[k] = v - cpu0[k]
	}
	return nil
}

// nextXID is the transaction id PostgreSQL will assign next, cluster-wide:
// transaction ids go to transactions that write, in any database. Reading
// it assigns none.
func (r *runner) nextXID(ctx context.Context) (int64, error) {
	var x int64
	if err := r.orders.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&x); err != nil {
		return 0, fmt.Errorf("reading the next transaction id: %w", err)
	}
	return x, nil
}

// settle waits up to r.drain until none of ids is PENDING, and returns how
// many still are. Each look asks only after the orders still pending at the
// last one, so the benchmark's own load on the database shrinks with the
// backlog.
func (r *runner) settle(ctx context.Context, ids []string) (int, error) {
	deadline := time.Now().Add(r.drain)
	pending := ids
	for {
		rows, err := r.orders.Query(ctx, `SELECT id::text FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`, pending)
		if err != nil {
			return 0, err
		}
		if pending, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return 0, err
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			return len(pending), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// cpu reads the CPU seconds of each process of the stack so far:
// PostgreSQL with all its backends, the others (devstack, the benchmark
// itself) as single processes.
func (r *runner) cpu() (map[string]float64, error) {
	st, err := r.stack.State()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, c := range st.Components {
		read := proccpu.CPU
		if c.Name == "postgres" {
			read = proccpu.Tree
		}
		v, err := read(c.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		out[c.Name] = v
	}
	// The supervisor, which carries every component's log lines to its
	// log file (and under make dev to the terminal).
	if st.Pid > 0 {
		v, err := proccpu.CPU(st.Pid)
		if err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
		out["devstack"] = v
	}
	self, err := proccpu.CPU(os.Getpid())
	if err != nil {
		return nil, err
	}
	out["benchsaga"] = self
	return out, nil
}

// quantile returns the q-quantile of ds (nearest rank), 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
