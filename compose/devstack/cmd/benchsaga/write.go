package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ordersConnector is the connector that captures the orders database's
// outbox (connectors/debezium/orders.json, registered under its file name).
const ordersConnector = "orders"

// writePath measures POST /orders alone, and the database's own rate
// beside it: with the orders connector paused nothing downstream of the
// orders database runs (its walsender decodes nothing either), so the
// write path and the database's loop each have the machine to themselves.
// Orders still PENDING count against the order service's MAX_BACKLOG, so
// the step runs bursts of n orders (fewer than the bound) from clients
// closed-loop clients; after each burst the connector resumes and the
// burst's orders settle before the next. When db is not nil, a slice of
// dbSlice of the database's loop runs right before each burst, in the
// same pause, so the two rates are measured in turns, under the same
// conditions, and a machine that changes pace during the run moves both.
// Throughput, latency and CPU cover the bursts alone; dbCPU the CPU
// seconds each process used in the database's slices.
func (r *runner) writePath(ctx context.Context, clients, n, bursts int, db *dbLoop, dbSlice time.Duration) (res stepResult, dbCPU map[string]float64, err error) {
	res = stepResult{name: fmt.Sprintf("write path %d clients", clients), kind: kindWrite, cpu: map[string]float64{}}
	dbCPU = map[string]float64{}
	if r.connect == "" {
		return res, nil, fmt.Errorf("write path: the stack has no Kafka Connect REST API (walrelay or connect) to pause the %s connector with", ordersConnector)
	}
	var all collector
	for range bursts {
		var before func(context.Context) error
		if db != nil {
			before = func(ctx context.Context) error {
				cpu, err := r.cpuOf(func() error { return db.run(ctx, dbSlice) })
				addCPU(dbCPU, cpu)
				return err
			}
		}
		c, d, cpu, err := r.pausedBurst(ctx, clients, n, before)
		if err != nil {
			return res, nil, err
		}
		res.duration += d
		addCPU(res.cpu, cpu)
		all.ids = append(all.ids, c.ids...)
		all.latencies = append(all.latencies, c.latencies...)
		all.failed += c.failed
		if all.firstErr == nil {
			all.firstErr = c.firstErr
		}
		if res.unsettled, err = r.settle(ctx, c.ids); err != nil {
			return res, nil, err
		}
	}
	res.posted, res.failed = len(all.ids), all.failed
	if res.posted == 0 {
		return res, nil, fmt.Errorf("%s: no order accepted (first error: %v)", res.name, all.firstErr)
	}
	res.postRate = float64(res.posted) / res.duration.Seconds()
	res.postP50, res.postP99 = quantile(all.latencies, 0.5), quantile(all.latencies, 0.99)
	return res, dbCPU, nil
}

// addCPU adds the CPU seconds of b to a's, process by process.
func addCPU(a, b map[string]float64) {
	for k, v := range b {
		a[k] += v
	}
}

// cpuOf runs f and returns the CPU seconds each process used meanwhile.
func (r *runner) cpuOf(f func() error) (map[string]float64, error) {
	cpu0, err := r.cpu()
	if err != nil {
		return nil, err
	}
	ferr := f()
	cpu1, err := r.cpu()
	if err != nil {
		return nil, errors.Join(ferr, err)
	}
	cpu := map[string]float64{}
	for k, v := range cpu1 {
		cpu[k] = v - cpu0[k]
	}
	return cpu, ferr
}

// pausedBurst pauses the orders connector, runs before (when not nil),
// then one burst of n orders from clients clients, and returns the burst's
// results, how long it took and the CPU seconds each process used during
// it. It resumes the connector whatever happens, even once ctx has ended
// (the run interrupted): the stack is never left paused.
func (r *runner) pausedBurst(ctx context.Context, clients, n int, before func(context.Context) error) (c *collector, d time.Duration, cpu map[string]float64, err error) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if rerr := r.setConnector(rctx, "resume", "RUNNING"); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if err := r.setConnector(ctx, "pause", "PAUSED"); err != nil {
		return nil, 0, nil, err
	}
	if before != nil {
		if err := before(ctx); err != nil {
			return nil, 0, nil, err
		}
	}
	c = &collector{}
	cpu, err = r.cpuOf(func() error {
		start := time.Now()
		r.api.Burst(ctx, clients, n, r.order, c.add)
		d = time.Since(start)
		return ctx.Err()
	})
	return c, d, cpu, err
}

// setConnector pauses or resumes the orders connector through the Kafka
// Connect REST API and waits until its status says state.
func (r *runner) setConnector(ctx context.Context, action, state string) error {
	url := r.connect + "/connectors/" + ordersConnector
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url+"/"+action, nil)
	if err != nil {
		return err
	}
	resp, err := r.api.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%s the %s connector: %w", action, ordersConnector, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s the %s connector: PUT %s/%s answered %d", action, ordersConnector, url, action, resp.StatusCode)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		status, err := r.connectorStatus(ctx)
		if err != nil {
			return fmt.Errorf("%s the %s connector: %w", action, ordersConnector, err)
		}
		if status.is(state) {
			return nil
		}
		if time.Now().After(deadline) {
			raw, _ := json.Marshal(status)
			return fmt.Errorf("%s the %s connector: not %s after a minute: %s", action, ordersConnector, state, raw)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// connectorStatus is what GET /connectors/{name}/status answers.
type connectorStatus struct {
	Connector struct{ State string }   `json:"connector"`
	Tasks     []struct{ State string } `json:"tasks"`
}

// is reports whether the connector and all its tasks (at least one) are
// in state.
func (s connectorStatus) is(state string) bool {
	ok := s.Connector.State == state && len(s.Tasks) > 0
	for _, t := range s.Tasks {
		ok = ok && t.State == state
	}
	return ok
}

// connectorStatus reads the orders connector's status.
func (r *runner) connectorStatus(ctx context.Context) (connectorStatus, error) {
	var status connectorStatus
	url := r.connect + "/connectors/" + ordersConnector + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return status, err
	}
	resp, err := r.api.Client.Do(req)
	if err != nil {
		return status, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return status, fmt.Errorf("GET %s answered %d", url, resp.StatusCode)
	}
	return status, json.NewDecoder(resp.Body).Decode(&status)
}
