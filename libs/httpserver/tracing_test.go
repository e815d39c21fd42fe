package httpserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
)

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestServerSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base := serve(t, httpserver.Config{Tracing: tp})

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, path, traceparent string
		wantSpan                string // "" for no span
		wantStatus              int64
		wantRoute               string
		wantError               bool
	}{
		{name: "route template names the span", path: "/things/42", traceparent: parent, wantSpan: "GET /things/:id", wantStatus: 200, wantRoute: "/things/:id"},
		{name: "a handler's error is the span's status", path: "/boom", wantSpan: "GET /boom", wantStatus: 500, wantRoute: "/boom", wantError: true},
		{name: "an error naming its own status", path: "/later?x=1", wantSpan: "GET /later", wantStatus: 503, wantRoute: "/later", wantError: true},
		{name: "unknown route, a 4xx is no server error", path: "/nowhere", wantSpan: "GET", wantStatus: 404},
		{name: "probes make no span", path: "/healthz"},
		{name: "readiness makes no span", path: "/readyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.Ended())
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+tt.path, nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The body ends on the wire only after the handler chain,
			// and so the span, has ended.
			spans := rec.Ended()[before:]
			if tt.wantSpan == "" {
				if len(spans) != 0 {
					t.Fatalf("%s: %d spans, want none", tt.path, len(spans))
				}
				return
			}
			if len(spans) != 1 {
				t.Fatalf("%s: %d spans, want 1", tt.path, len(spans))
			}
			s := spans[0]
			a := attrs(s)
			if s.Name() != tt.wantSpan || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q server", s.Name(), s.SpanKind(), tt.wantSpan)
			}
			if got := a["http.response.status_code"].AsInt64(); got != tt.wantStatus {
				t.Errorf("status code attribute %d, want %d", got, tt.wantStatus)
			}
			if got := a["http.route"].AsString(); got != tt.wantRoute {
				t.Errorf("http.route %q, want %q", got, tt.wantRoute)
			}
			if got := s.Status().Code == codes.Error; got != tt.wantError {
				t.Errorf("error status %v, want %v", got, tt.wantError)
			}
			if tt.traceparent != "" {
				if got := s.Parent().TraceID().String(); !strings.Contains(tt.traceparent, got) || !s.Parent().IsRemote() {
					t.Errorf("parent %v, want the caller's remote span of %s", s.Parent(), tt.traceparent)
				}
			}
		})
	}
}

// TestHandlersRunInTheServerSpan checks that what a handler writes onward
// (the outbox's traceparent) names the server span, child of the caller.
func TestHandlersRunInTheServerSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base := serve(t, httpserver.Config{Tracing: tp})
	resp, err := http.Get(base + "/trace")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	want := tracecontext.TraceParent(trace.ContextWithSpanContext(t.Context(), spans[0].SpanContext()))
	if string(got) != want {
		t.Fatalf("handler's traceparent %q, want the server span's %q", got, want)
	}
}

func TestServeProfiles(t *testing.T) {
	e := httpserver.New(httpserver.Config{})
	httpserver.ServeProfiles(e)
	for _, tc := range []struct {
		path, want string
	}{
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/heap?debug=1", "heap profile"},
		{"/debug/pprof/cmdline", ""},
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s = %d, body without %q", tc.path, rec.Code, tc.want)
		}
	}
}
