package waterfall

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJaeger answers GET <prefix>/api/traces from a fixed set of traces
// as Jaeger's query service does: the traces with a span of the service
// that has every tag asked for (and the operation's name, when asked)
// and started at or after start, in the order given (newest first), at
// most limit of them.
type fakeJaeger struct {
	prefix string
	traces []Trace
	fail   func(w http.ResponseWriter) bool // answers instead, when it returns true

	mu       sync.Mutex
	requests []string // each request's query
}

func (f *fakeJaeger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RawQuery)
	f.mu.Unlock()
	if r.URL.Path != f.prefix+"/api/traces" {
		http.NotFound(w, r)
		return
	}
	if f.fail != nil && f.fail(w) {
		return
	}
	q := r.URL.Query()
	var tags map[string]string
	if err := json.Unmarshal([]byte(q.Get("tags")), &tags); err != nil || q.Get("service") == "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": []AnswerError{{Code: 400, Msg: "bad query"}}})
		return
	}
	start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	data := []Trace{}
	for _, t := range f.traces {
		if len(data) < limit && matches(&t, q.Get("service"), q.Get("operation"), tags, start) {
			data = append(data, t)
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data, "total": 0, "limit": 0, "offset": 0, "errors": nil})
}

func matches(t *Trace, service, operation string, tags map[string]string, start int64) bool {
	for i := range t.Spans {
		s := &t.Spans[i]
		if t.Service(s) != service || (operation != "" && s.OperationName != operation) || s.StartTime < start {
			continue
		}
		all := true
		for k, v := range tags {
			all = all && s.TagString(k) == v
		}
		if all {
			return true
		}
	}
	return false
}

func (f *fakeJaeger) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func TestOrderTrace(t *testing.T) {
	const order = "0192f6c4-7a1e-7c3b-9d2e-5f8a1b2c3d4e"
	all := loadAnswer(t, fixtureRefund).Data // a GET trace, then the placement
	placedAt := time.Date(2026, 3, 14, 10, 21, 7, 412345000, time.UTC)
	for _, tc := range []struct {
		name      string
		traces    []Trace
		order     string
		since     time.Time
		prefix    string
		fail      func(w http.ResponseWriter) bool
		wantTrace string
		wantErr   error
		errText   string
		requests  int
	}{
		{
			name: "the placement's trace", traces: all, order: order, since: placedAt.Add(-time.Minute),
			wantTrace: "7f3a9c2e5b1d4e8fa6c0b2d4e6f81a3c", requests: 1,
		},
		{
			name: "behind a reverse proxy's path", traces: all, order: order, prefix: "/jaeger",
			wantTrace: "7f3a9c2e5b1d4e8fa6c0b2d4e6f81a3c", requests: 1,
		},
		{
			name: "only GET traces left: the largest", traces: all[:1], order: order,
			wantTrace: "9c1e4a7b2d5f8e0a3c6b9d2f5a8e1b4d", requests: 2,
		},
		{
			name: "the placement before the window", traces: all, order: order, since: placedAt.Add(time.Second),
			wantTrace: "9c1e4a7b2d5f8e0a3c6b9d2f5a8e1b4d", requests: 2,
		},
		{
			name: "another order", traces: all, order: "0192f6c4-0000-7000-8000-000000000000",
			wantErr: ErrNoTrace, requests: 2,
		},
		{
			name: "Jaeger's storage fails", traces: all, order: order,
			fail: func(w http.ResponseWriter) bool {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"storage unavailable"}]}`))
				return true
			},
			errText: "Internal Server Error: storage unavailable", requests: 1,
		},
		{
			name: "something else answers", traces: all, order: order,
			fail: func(w http.ResponseWriter) bool {
				w.Write([]byte("<html>welcome</html>"))
				return true
			},
			errText: "decoding jaeger answer", requests: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeJaeger{prefix: tc.prefix, traces: tc.traces, fail: tc.fail}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := &Client{BaseURL: srv.URL + tc.prefix + "/"}
			tr, err := c.OrderTrace(t.Context(), tc.order, tc.since)
			switch {
			case tc.wantErr != nil || tc.errText != "":
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("err %v, want %v %q", err, tc.wantErr, tc.errText)
				}
				if errors.Is(err, ErrUnreachable) {
					t.Errorf("err %v wraps ErrUnreachable, but Jaeger answered", err)
				}
			case err != nil:
				t.Fatal(err)
			case tr.TraceID != tc.wantTrace:
				t.Errorf("trace %s, want %s", tr.TraceID, tc.wantTrace)
			}
			reqs := f.seen()
			if len(reqs) != tc.requests {
				t.Fatalf("%d requests (%q), want %d", len(reqs), reqs, tc.requests)
			}
			first := parseQuery(t, reqs[0])
			want := map[string]string{"service": OrderService, "operation": PlaceOrderSpan, "limit": "20",
				"tags": `{"order.id":"` + tc.order + `"}`}
			if !tc.since.IsZero() {
				want["start"] = strconv.FormatInt(tc.since.UnixMicro(), 10)
			}
			for k, v := range want {
				if first[k] != v {
					t.Errorf("first search's %s = %q, want %q", k, first[k], v)
				}
			}
			if _, ok := first["start"]; ok == tc.since.IsZero() {
				t.Errorf("first search's start %q for since %v; want one exactly when since is set", first["start"], tc.since)
			}
			if len(reqs) > 1 {
				if second := parseQuery(t, reqs[1]); second["operation"] != "" || second["limit"] != "100" {
					t.Errorf("fallback search %q, want every trace of the order, up to 100", reqs[1])
				}
			}
		})
	}
}

// parseQuery returns the first value of each parameter of a raw query.
func parseQuery(t *testing.T, raw string) map[string]string {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("query %q: %v", raw, err)
	}
	out := map[string]string{}
	for k := range q {
		out[k] = q.Get(k)
	}
	return out
}

func TestOrderTraceUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	_, err := (&Client{BaseURL: base}).OrderTrace(t.Context(), "0192f6c4-7a1e-7c3b-9d2e-5f8a1b2c3d4e", time.Time{})
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNoTrace) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
}

func TestPick(t *testing.T) {
	tr := func(id string, start int64, names ...string) Trace {
		t := Trace{TraceID: id}
		for i, n := range names {
			t.Spans = append(t.Spans, Span{SpanID: id + strconv.Itoa(i), OperationName: n, StartTime: start + int64(i)})
		}
		return t
	}
	for _, tc := range []struct {
		name   string
		traces []Trace
		want   string
	}{
		{"none", nil, ""},
		{"only empty traces", []Trace{tr("a", 0)}, ""},
		{"placement by its server span", []Trace{tr("get", 5, "GET /orders/:id", "x", "y"), tr("post", 9, PostOrdersSpan)}, "post"},
		{"placement by its business span", []Trace{tr("get", 5, "GET /orders/:id", "x", "y"), tr("place", 9, "x", PlaceOrderSpan)}, "place"},
		{"of two placements the larger", []Trace{tr("small", 1, PostOrdersSpan), tr("large", 9, PostOrdersSpan, "x")}, "large"},
		{"no placement: the most spans", []Trace{tr("one", 1, "a"), tr("three", 9, "a", "b", "c"), tr("two", 0, "a", "b")}, "three"},
		{"equal sizes: the earliest", []Trace{tr("late", 9, "a"), tr("early", 1, "a")}, "early"},
		{"equal starts: the lowest ID", []Trace{tr("b", 1, "a"), tr("a", 1, "a")}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Pick(tc.traces)
			switch {
			case got == nil && tc.want != "":
				t.Errorf("nil, want %s", tc.want)
			case got != nil && got.TraceID != tc.want:
				t.Errorf("%s, want %q", got.TraceID, tc.want)
			}
		})
	}
}
