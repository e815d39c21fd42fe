package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// world is what one run seeds: customers with funds, SKUs with stock, all
// named after the run so the audit can tell them from other data.
type world struct {
	run       string
	accounts  map[string]int64
	stock     map[string]int64
	customers []string
	skus      []string
}

type orderItem struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// Orders have one or two lines of one to three units at 2 to 20 euros:
// about 3 units and 33 euros on average.
const (
	meanUnits      = 3.0
	meanOrderCents = 3300.0
)

// newWorld sizes funds and stock at about 80% of what the load will ask
// for, so some orders fail on money, others on stock, and both
// compensations run.
func newWorld(run string, cfg config, rng *rand.Rand) *world {
	w := &world{run: run, accounts: map[string]int64{}, stock: map[string]int64{}}
	orders := cfg.rate * cfg.duration.Seconds()
	for i := range cfg.customers {
		c := fmt.Sprintf("chaos-%s-c%02d", run, i)
		w.customers = append(w.customers, c)
		w.accounts[c] = int64(0.8*orders*meanOrderCents/float64(cfg.customers)) + rng.Int64N(2000)
	}
	for i := range cfg.skus {
		s := fmt.Sprintf("chaos-%s-s%02d", run, i)
		w.skus = append(w.skus, s)
		w.stock[s] = int64(0.8*orders*meanUnits/float64(cfg.skus)) + rng.Int64N(5)
	}
	return w
}

func (w *world) order(rng *rand.Rand) (customer string, items []orderItem) {
	customer = w.customers[rng.IntN(len(w.customers))]
	lines := 1 + rng.IntN(2)
	first := rng.IntN(len(w.skus))
	for l := range lines {
		items = append(items, orderItem{
			SKU:            w.skus[(first+l)%len(w.skus)],
			Quantity:       1 + rng.IntN(3),
			UnitPriceCents: 200 + 100*rng.Int64N(19),
		})
	}
	return customer, items
}

// api is the services' HTTP APIs.
type api struct {
	order, payment, inventory string
	client                    *http.Client
}

// call sends a JSON request and decodes a 2xx answer into into.
func (a *api) call(ctx context.Context, method, url string, body any, header http.Header, into any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s answered %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

// retry repeats a request that failed for a reason a restart explains (no
// connection, a 5xx) until it gets an answer or ctx ends.
func (a *api) retry(ctx context.Context, method, url string, body any, header http.Header, into any) (int, error) {
	delay := 100 * time.Millisecond
	for {
		code, err := a.call(ctx, method, url, body, header, into)
		if err == nil || (code != 0 && code < 500) {
			return code, err
		}
		select {
		case <-ctx.Done():
			return code, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// seed creates the run's accounts and stock.
func (a *api) seed(ctx context.Context, w *world) error {
	for c, cents := range w.accounts {
		if _, err := a.retry(ctx, http.MethodPut, a.payment+"/accounts/"+c, map[string]any{"balanceCents": cents, "currency": "EUR"}, nil, nil); err != nil {
			return fmt.Errorf("seeding account %s: %w", c, err)
		}
	}
	for s, n := range w.stock {
		if _, err := a.retry(ctx, http.MethodPut, a.inventory+"/stock/"+s, map[string]any{"available": n}, nil, nil); err != nil {
			return fmt.Errorf("seeding stock %s: %w", s, err)
		}
	}
	return nil
}

// loadResult counts what the load did.
type loadResult struct {
	mu       sync.Mutex
	accepted map[string]string // idempotency key -> order id
	refused  []string          // 4xx answers: a bug, the load sends only valid orders
	gaveUp   []string          // keys never answered before the deadline
}

// load places orders at cfg.rate for cfg.duration, open loop: an order is
// sent on time whatever the previous ones are doing. Each order has its own
// Idempotency-Key, and a failed attempt (no connection, a 5xx while a
// process restarts) is retried with the same key, so no order is placed
// twice.
func (a *api) load(ctx context.Context, cfg config, w *world, rng *rand.Rand) *loadResult {
	res := &loadResult{accepted: map[string]string{}}
	total := int(cfg.rate * cfg.duration.Seconds())
	interval := time.Duration(float64(time.Second) / cfg.rate)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				wg.Wait()
				return res
			case <-time.After(d):
			}
		}
		customer, items := w.order(rng)
		key := fmt.Sprintf("chaos-%s-o%06d", w.run, i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			octx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			var o struct {
				ID string `json:"id"`
			}
			body := map[string]any{"customerId": customer, "currency": "EUR", "items": items}
			code, err := a.retry(octx, http.MethodPost, a.order+"/orders", body, http.Header{"Idempotency-Key": {key}}, &o)
			res.mu.Lock()
			defer res.mu.Unlock()
			switch {
			case err == nil:
				res.accepted[key] = o.ID
			case code != 0 && code < 500:
				res.refused = append(res.refused, fmt.Sprintf("%s: %v", key, err))
			default:
				res.gaveUp = append(res.gaveUp, fmt.Sprintf("%s: %v", key, err))
			}
		}()
	}
	wg.Wait()
	return res
}
