package waterfall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The names the services' spans use (see the package documentation).
const (
	OrderService   = "order-service"
	PlaceOrderSpan = "place order"
	PostOrdersSpan = "POST /orders"
	OrderIDTag     = "order.id"
)

// ErrNoTrace is returned by OrderTrace when Jaeger holds no trace of the
// order.
var ErrNoTrace = errors.New("no trace of the order")

// ErrUnreachable is returned, wrapped with the cause, when Jaeger does not
// answer at all (refused, unknown host, timed out).
var ErrUnreachable = errors.New("no answer")

// maxAnswer bounds the size of one answer read from Jaeger.
const maxAnswer = 64 << 20

// Search limits: the placement search expects one trace; the fallback
// search also meets the traces of the order's GET requests.
const (
	placementLimit = 20
	fallbackLimit  = 100
)

// Client reads traces from Jaeger's query HTTP API.
type Client struct {
	// BaseURL is the query service's address, e.g. http://127.0.0.1:16686.
	BaseURL string
	// HTTP sends the requests; nil means http.DefaultClient. Deadlines come
	// from the context.
	HTTP *http.Client
}

// OrderTrace returns the trace of the order's saga: the trace that holds
// its placement (a "place order" or "POST /orders" span), else of the
// traces whose order-service spans carry order.id=orderID the one with the
// most spans. Only traces with a span that started at or after since are
// searched; a zero since leaves the window to Jaeger (its default is the
// last two days).
//
// It first searches the placement span itself, then, when that finds
// nothing, every order-service trace of the order: Jaeger returns the
// newest traces first up to a limit, and repeated GET /orders/{id} make
// traces of their own. The error wraps ErrNoTrace when nothing matches and
// ErrUnreachable when Jaeger does not answer.
func (c *Client) OrderTrace(ctx context.Context, orderID string, since time.Time) (*Trace, error) {
	tags, err := json.Marshal(map[string]string{OrderIDTag: orderID})
	if err != nil {
		return nil, fmt.Errorf("encoding search tags: %w", err)
	}
	q := url.Values{"service": {OrderService}, "tags": {string(tags)}}
	if !since.IsZero() {
		q.Set("start", strconv.FormatInt(since.UnixMicro(), 10))
	}
	for _, s := range []struct {
		operation string
		limit     int
	}{{PlaceOrderSpan, placementLimit}, {"", fallbackLimit}} {
		q.Set("limit", strconv.Itoa(s.limit))
		q.Del("operation")
		if s.operation != "" {
			q.Set("operation", s.operation)
		}
		traces, err := c.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		if t := Pick(traces); t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("order %s: %w", orderID, ErrNoTrace)
}

// Search runs GET /api/traces with the query q and returns the traces
// found.
func (c *Client) Search(ctx context.Context, q url.Values) ([]Trace, error) {
	u, err := url.Parse(strings.TrimRight(c.BaseURL, "/") + "/api/traces")
	if err != nil {
		return nil, fmt.Errorf("jaeger URL %q: %w", c.BaseURL, err)
	}
	u.RawQuery = q.Encode()
	a, err := c.get(ctx, u.String())
	if err != nil {
		return nil, err
	}
	return a.Data, nil
}

// get fetches and decodes one answer. An answer other than 200 OK is an
// error naming the status and Jaeger's messages.
func (c *Client) get(ctx context.Context, u string) (*Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("jaeger request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The cause without the request's long URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxAnswer)
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(u, resp.StatusCode, body)
	}
	a, err := DecodeAnswer(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return a, nil
}

// statusError describes a refused request with the messages of Jaeger's
// answer, or the start of its body when it is no Jaeger answer.
func statusError(u string, status int, body io.Reader) error {
	b, _ := io.ReadAll(io.LimitReader(body, 4096))
	var a Answer
	var msgs []string
	if json.Unmarshal(b, &a) == nil {
		for _, e := range a.Errors {
			msgs = append(msgs, e.Msg)
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, strings.TrimSpace(string(b)))
	}
	return fmt.Errorf("GET %s: %s: %s", u, http.StatusText(status), strings.Join(msgs, "; "))
}

// Pick returns the trace holding an order's placement ("place order" or
// "POST /orders" span), else the one with the most spans; among equals
// the one that starts first, then the lowest trace ID. It returns nil for
// no traces (or only empty ones).
func Pick(traces []Trace) *Trace {
	var best *Trace
	for i := range traces {
		t := &traces[i]
		if len(t.Spans) > 0 && (best == nil || better(t, best)) {
			best = t
		}
	}
	return best
}

// better reports whether a is a better pick than b.
func better(a, b *Trace) bool {
	if pa, pb := placement(a), placement(b); pa != pb {
		return pa
	}
	if len(a.Spans) != len(b.Spans) {
		return len(a.Spans) > len(b.Spans)
	}
	if sa, sb := start(a), start(b); sa != sb {
		return sa < sb
	}
	return a.TraceID < b.TraceID
}

// placement reports whether t holds an order's placement.
func placement(t *Trace) bool {
	for i := range t.Spans {
		if n := t.Spans[i].OperationName; n == PlaceOrderSpan || n == PostOrdersSpan {
			return true
		}
	}
	return false
}

// start is the earliest start of t's spans, in microseconds.
func start(t *Trace) int64 {
	var m int64
	for i, s := range t.Spans {
		if i == 0 || s.StartTime < m {
			m = s.StartTime
		}
	}
	return m
}
