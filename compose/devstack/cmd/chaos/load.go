package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/orderload"
)

// newWorld sizes funds and stock at about 80% of what the load will ask
// for, so some orders fail on money, others on stock, and both
// compensations run.
func newWorld(run string, cfg config, rng *rand.Rand) *orderload.World {
	orders := cfg.rate * cfg.duration.Seconds()
	return orderload.NewWorld(run, cfg.customers, cfg.skus,
		int64(0.8*orders*orderload.MeanOrderCents/float64(cfg.customers)),
		int64(0.8*orders*orderload.MeanUnits/float64(cfg.skus)), rng)
}

// loadResult counts what the load did.
type loadResult struct {
	mu       sync.Mutex
	accepted map[string]string // idempotency key -> order id
	refused  []string          // 4xx answers: a bug, the load sends only valid orders
	gaveUp   []string          // keys never answered before the deadline
}

// load places orders at cfg.rate for cfg.duration, open loop. A failed
// attempt (no connection, a 5xx while a process restarts) is retried with
// the same Idempotency-Key, as a client would, so no order is placed twice.
func load(ctx context.Context, a *orderload.API, cfg config, w *orderload.World, rng *rand.Rand) *loadResult {
	res := &loadResult{accepted: map[string]string{}}
	n := int(cfg.rate * cfg.duration.Seconds())
	a.OpenLoop(ctx, cfg.rate, n, 256, func(i int) orderload.Order { return w.Order(i, rng) }, func(r orderload.Result) {
		res.mu.Lock()
		defer res.mu.Unlock()
		switch {
		case r.Err == nil:
			res.accepted[r.Order.Key] = r.ID
		case r.Code != 0 && r.Code < 500:
			res.refused = append(res.refused, fmt.Sprintf("%s: %v", r.Order.Key, r.Err))
		default:
			res.gaveUp = append(res.gaveUp, fmt.Sprintf("%s: %v", r.Order.Key, r.Err))
		}
	})
	return res
}
