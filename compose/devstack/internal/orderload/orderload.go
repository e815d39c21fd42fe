// Package orderload places orders through the order service's HTTP API the
// way clients do: customers and SKUs seeded through the payment and
// inventory APIs, each order with its own Idempotency-Key, sent open loop
// (on a schedule, whatever earlier orders are doing) or closed loop (each
// client sends its next order when the last one is answered). The fault
// suite and the saga benchmark share it.
package orderload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// World is what a run seeds: customers with funds and SKUs with stock, all
// named after the run so they can be told from other data.
type World struct {
	Run       string
	Accounts  map[string]int64 // customer -> opening balance, cents
	Stock     map[string]int64 // SKU -> opening stock
	Customers []string
	SKUs      []string
}

// Orders have one or two lines of one to three units at 2 to 20 euros:
// about MeanUnits units and MeanOrderCents cents on average.
const (
	MeanUnits      = 3.0
	MeanOrderCents = 3300.0
)

// NewWorld names customers and SKUs after run and gives each customer
// about balance cents and each SKU about stock units (plus a little seeded
// jitter).
func NewWorld(run string, customers, skus int, balance, stock int64, rng *rand.Rand) *World {
	w := &World{Run: run, Accounts: map[string]int64{}, Stock: map[string]int64{}}
	for i := range customers {
		c := fmt.Sprintf("load-%s-c%02d", run, i)
		w.Customers = append(w.Customers, c)
		w.Accounts[c] = balance + rng.Int64N(2000)
	}
	for i := range skus {
		s := fmt.Sprintf("load-%s-s%02d", run, i)
		w.SKUs = append(w.SKUs, s)
		w.Stock[s] = stock + rng.Int64N(5)
	}
	return w
}

// Item is one line of an order.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// Order is one order to place.
type Order struct {
	Key        string `json:"-"` // Idempotency-Key
	CustomerID string `json:"customerId"`
	Currency   string `json:"currency"`
	Items      []Item `json:"items"`
}

// Order returns the i-th order of the run: a random customer, one or two
// lines of neighbouring SKUs.
func (w *World) Order(i int, rng *rand.Rand) Order {
	o := Order{Key: fmt.Sprintf("load-%s-o%07d", w.Run, i), CustomerID: w.Customers[rng.IntN(len(w.Customers))], Currency: "EUR"}
	first := rng.IntN(len(w.SKUs))
	for l := range 1 + rng.IntN(2) {
		o.Items = append(o.Items, Item{
			SKU:            w.SKUs[(first+l)%len(w.SKUs)],
			Quantity:       1 + rng.IntN(3),
			UnitPriceCents: 200 + 100*rng.Int64N(19),
		})
	}
	return o
}

// API is the three services' HTTP APIs.
type API struct {
	Order, Payment, Inventory string // base URLs
	Client                    *http.Client
	// RetryFor, when positive, retries a request that failed for a reason
	// a restart explains (no connection, a 5xx) with the same
	// Idempotency-Key, for up to this long.
	RetryFor time.Duration
}

// Call sends a JSON request and decodes a 2xx answer into into; any other
// answer is an error carrying the status.
func (a *API) Call(ctx context.Context, method, url string, body any, header http.Header, into any) (int, error) {
	code, _, err := a.call(ctx, method, url, body, header, into)
	return code, err
}

// call is Call that also returns the answer's Retry-After, 0 when it has
// none.
func (a *API) call(ctx context.Context, method, url string, body any, header http.Header, into any) (int, time.Duration, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var retryAfter time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = time.Duration(secs) * time.Second
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, retryAfter, fmt.Errorf("%s %s answered %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return resp.StatusCode, retryAfter, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, retryAfter, nil
}

// send is call, retried as RetryFor says; it returns the status, the
// attempts made, the last answer's Retry-After and the error.
func (a *API) send(ctx context.Context, method, url string, body any, header http.Header, into any) (int, int, time.Duration, error) {
	if a.RetryFor <= 0 {
		code, retryAfter, err := a.call(ctx, method, url, body, header, into)
		return code, 1, retryAfter, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.RetryFor)
	defer cancel()
	delay := 100 * time.Millisecond
	for attempts := 1; ; attempts++ {
		code, retryAfter, err := a.call(ctx, method, url, body, header, into)
		if err == nil || (code != 0 && code < 500) {
			return code, attempts, retryAfter, err
		}
		select {
		case <-ctx.Done():
			return code, attempts, retryAfter, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// Seed creates the world's accounts and stock.
func (a *API) Seed(ctx context.Context, w *World) error {
	for c, cents := range w.Accounts {
		if _, _, _, err := a.send(ctx, http.MethodPut, a.Payment+"/accounts/"+c, map[string]any{"balanceCents": cents, "currency": "EUR"}, nil, nil); err != nil {
			return fmt.Errorf("seeding account %s: %w", c, err)
		}
	}
	for s, n := range w.Stock {
		if _, _, _, err := a.send(ctx, http.MethodPut, a.Inventory+"/stock/"+s, map[string]any{"available": n}, nil, nil); err != nil {
			return fmt.Errorf("seeding stock %s: %w", s, err)
		}
	}
	return nil
}

// Result is what placing one order did.
type Result struct {
	Order    Order
	ID       string        // the order's id, when accepted
	Code     int           // the last HTTP status, 0 without an answer
	Err      error         // nil when accepted
	Sent     time.Time     // when the first attempt was sent
	Latency  time.Duration // from Sent to the last answer
	Attempts int
	// RetryAfter is the last answer's Retry-After (a refused order: the
	// service is overloaded), 0 when it had none.
	RetryAfter time.Duration
}

// Place places one order.
func (a *API) Place(ctx context.Context, o Order) Result {
	r := Result{Order: o, Sent: time.Now()}
	var answer struct {
		ID string `json:"id"`
	}
	r.Code, r.Attempts, r.RetryAfter, r.Err = a.send(ctx, http.MethodPost, a.Order+"/orders", o, http.Header{"Idempotency-Key": {o.Key}}, &answer)
	r.Latency, r.ID = time.Since(r.Sent), answer.ID
	return r
}

// OpenLoop places n orders at rate per second, each at its time whatever
// the earlier ones are doing (at most inflight at once), and calls done
// with each result, from several goroutines. It returns when every order
// was answered or ctx ended.
func (a *API) OpenLoop(ctx context.Context, rate float64, n, inflight int, next func(i int) Order, done func(Result)) {
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		o := next(i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			done(a.Place(ctx, o))
		}()
	}
}

// ClosedLoop runs clients that each place an order, wait for the answer and
// place the next, for d; a client whose order was refused with a
// Retry-After waits that long first, as a well-behaved client does. It
// calls done with each result, from several goroutines. next is called
// with increasing indexes, never concurrently.
func (a *API) ClosedLoop(ctx context.Context, clients int, d time.Duration, next func(i int) Order, done func(Result)) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	a.clients(ctx, clients, func(int) bool { return true }, next, func(r Result) bool {
		if ctx.Err() != nil && r.Err != nil {
			return false // cut off by the end of the run, not an answer
		}
		done(r)
		if r.RetryAfter > 0 && r.Err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(r.RetryAfter):
			}
		}
		return true
	})
}

// Burst runs clients that each place an order, wait for the answer and
// place the next, until n orders were taken or one was refused with a
// Retry-After (the service is overloaded: a burst is meant to fit in what
// it accepts). It calls done with each result, from several goroutines.
// next is called with increasing indexes, never concurrently.
func (a *API) Burst(ctx context.Context, clients, n int, next func(i int) Order, done func(Result)) {
	var refused atomic.Bool
	a.clients(ctx, clients, func(i int) bool { return i < n && !refused.Load() }, next, func(r Result) bool {
		done(r)
		if r.Err != nil && r.RetryAfter > 0 {
			refused.Store(true)
		}
		return true
	})
}

// clients runs clients goroutines that each take the next order while
// more(i) holds for its index i and ctx lasts, place it, and hand the
// result to after, stopping when after returns false. next and more are
// called under one lock, with increasing indexes.
func (a *API) clients(ctx context.Context, clients int, more func(i int) bool, next func(i int) Order, after func(Result) bool) {
	var mu sync.Mutex
	i := 0
	take := func() (Order, bool) {
		mu.Lock()
		defer mu.Unlock()
		if !more(i) {
			return Order{}, false
		}
		i++
		return next(i - 1), true
	}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				o, ok := take()
				if !ok || !after(a.Place(ctx, o)) {
					return
				}
			}
		}()
	}
	wg.Wait()
}
