package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// fixtureOrder is the order id in the waterfall package's
// cancelled-refund fixture, a saga like the standard scenario's Rejected
// order.
const fixtureOrder = "0192f6c4-7a1e-7c3b-9d2e-5f8a1b2c3d4e"

// traceServer is a Jaeger query API holding the cancelled-refund
// fixture's traces as traces of order id (none when empty): it answers
// GET /api/traces with them when the search's tags name the order. It
// keeps each search's query.
type traceServer struct {
	answer []byte
	mu     sync.Mutex
	starts []string
}

func newTraceServer(t *testing.T, id string) (*traceServer, string) {
	t.Helper()
	ts := &traceServer{answer: []byte(`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`)}
	if id != "" {
		b, err := os.ReadFile(filepath.Join("internal", "waterfall", "testdata", "cancelled-refund.json"))
		if err != nil {
			t.Fatal(err)
		}
		ts.answer = bytes.ReplaceAll(b, []byte(fixtureOrder), []byte(id))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ts.mu.Lock()
		ts.starts = append(ts.starts, q.Get("start"))
		ts.mu.Unlock()
		var tags map[string]string
		if r.URL.Path != "/api/traces" || json.Unmarshal([]byte(q.Get("tags")), &tags) != nil {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if id == "" || tags["order.id"] != id {
			w.Write([]byte(`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`))
			return
		}
		w.Write(ts.answer)
	}))
	t.Cleanup(srv.Close)
	return ts, srv.URL
}

func (ts *traceServer) searchStarts() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.starts...)
}

// runCmdEnv is runCmd with the environment env.
func runCmdEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil && err.Error() != "" {
		fmt.Fprintf(&errOut, "outboxctl: %s\n", err)
	}
	return exitCode(err), out.String(), errOut.String()
}

// TestOrderHTML runs `outboxctl order <id> --html FILE` against a Jaeger
// that has the order's trace, one that has none, and one that is down.
func TestOrderHTML(t *testing.T) {
	t.Parallel()
	s := fixture.Standard(time.Now())
	env := fixture.NewPool(t, 1).Env(t)
	s.Write(t, env)
	env.CatchUp(t, fixture.GroupPayment, events.TopicOrder)
	env.CatchUp(t, fixture.GroupInventory, events.TopicOrder)
	env.CatchUp(t, fixture.GroupOrder, events.TopicPayment, events.TopicInventory)
	order := s.Rejected
	const stands = "CANCELLED (payment REFUNDED, stock REJECTED): settled"
	jaeger, good := newTraceServer(t, order.ID)
	_, empty := newTraceServer(t, "")
	gone := httptest.NewServer(http.NotFoundHandler())
	down := gone.URL
	gone.Close() // nothing listens there any more
	hint := "OTEL_EXPORTER_OTLP_ENDPOINT"
	dir := t.TempDir()

	for i, tc := range []struct {
		name       string
		env        map[string]string
		flags      []string // after the order id; "FILE" is the page's path
		wantCode   int
		wantPage   bool
		wantStdout string // the last line of stdout, unless empty
		wantStderr []string
	}{
		{
			name: "page", flags: []string{"--html", "FILE", "--jaeger", good}, wantPage: true, wantStdout: stands,
			wantStderr: []string{"order: wrote FILE: trace 7f3a9c2e5b1d4e8fa6c0b2d4e6f81a3c, 16 spans in 3 services, 7 Kafka hops"},
		},
		{name: "page and JSON", flags: []string{"--json", "--html", "FILE", "--jaeger", good}, wantPage: true},
		{name: "Jaeger from JAEGER_URL", env: map[string]string{"JAEGER_URL": good}, flags: []string{"--html", "FILE"}, wantPage: true},
		{
			name: "--jaeger beats JAEGER_URL", env: map[string]string{"JAEGER_URL": down},
			flags: []string{"--html", "FILE", "--jaeger", good}, wantPage: true,
		},
		{
			name: "no trace in Jaeger", flags: []string{"--html", "FILE", "--jaeger", empty}, wantCode: 2, wantStdout: stands,
			wantStderr: []string{"no trace of order " + order.ID + " in Jaeger at " + empty, hint},
		},
		{
			name: "Jaeger down", flags: []string{"--html", "FILE", "--jaeger", down}, wantCode: 2, wantStdout: stands,
			wantStderr: []string{"Jaeger at " + down + ": no answer: ", "connection refused", hint},
		},
		{
			name: "not a URL", flags: []string{"--html", "FILE", "--jaeger", "127.0.0.1:16686"}, wantCode: 2,
			wantStderr: []string{`--jaeger "127.0.0.1:16686" is not an http(s) URL`},
		},
		{
			name: "JAEGER_URL not a URL", env: map[string]string{"JAEGER_URL": "nonsense"}, flags: []string{"--html", "FILE"},
			wantCode: 2, wantStderr: []string{`$JAEGER_URL "nonsense" is not an http(s) URL`},
		},
		{name: "a bad JAEGER_URL matters only with --html", env: map[string]string{"JAEGER_URL": "nonsense"}, wantStdout: stands},
		{
			name: "unwritable page", flags: []string{"--html", filepath.Join(dir, "no", "such", "dir.html"), "--jaeger", good},
			wantCode: 2, wantStderr: []string{"writing the waterfall"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := filepath.Join(dir, strconv.Itoa(i)+".html")
			args := append([]string{"order", order.ID}, dbFlags(env)...)
			for _, f := range tc.flags {
				args = append(args, strings.ReplaceAll(f, "FILE", page))
			}
			code, stdout, stderr := runCmdEnv(t, tc.env, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if tc.wantStdout != "" && lines[len(lines)-1] != tc.wantStdout {
				t.Errorf("last line %q, want %q", lines[len(lines)-1], tc.wantStdout)
			}
			for _, want := range tc.wantStderr {
				if want = strings.ReplaceAll(want, "FILE", page); !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if slices.Contains(tc.flags, "--json") && !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
			checkPage(t, page, tc.wantPage, order.ID, stands)
		})
	}

	// Every search began 10 minutes before the order was created.
	want := strconv.FormatInt(order.CreatedAt.Add(-traceSearchMargin).UnixMicro(), 10)
	starts := jaeger.searchStarts()
	if len(starts) == 0 {
		t.Error("Jaeger was never searched")
	}
	for _, got := range starts {
		if got != want {
			t.Errorf("search start %s, want %s (the order's creation at %s less %s)", got, want, order.CreatedAt, traceSearchMargin)
		}
	}
}

// checkPage checks that the page at path exists when want says so, with
// the order's rows and caption.
func checkPage(t *testing.T, path string, want bool, id, caption string) {
	t.Helper()
	b, err := os.ReadFile(path)
	switch {
	case !want && errors.Is(err, fs.ErrNotExist):
		return
	case !want:
		t.Fatalf("a page was written (%v)", err)
	case err != nil:
		t.Fatal(err)
	}
	page := string(b)
	for _, tc := range []struct {
		hook string
		n    int
	}{{`data-span-id="`, 16}, {`<g class="hop"`, 7}, {`class="caption">` + caption + `<`, 1}, {"Order <code>" + id + "</code>", 1}} {
		if got := strings.Count(page, tc.hook); got != tc.n {
			t.Errorf("the page has %d × %s, want %d", got, tc.hook, tc.n)
		}
	}
}
