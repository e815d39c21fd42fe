package tracecontext_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
)

func TestRoundTrip(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"valid", valid, valid},
		{"empty", "", ""},
		{"garbage", "not-a-traceparent", ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tracecontext.TraceParent(tracecontext.FromTraceParent(context.Background(), tc.in)); got != tc.want {
				t.Fatalf("FromTraceParent(%q) -> %q, want %q", tc.in, got, tc.want)
			}
			h := http.Header{}
			if tc.in != "" {
				h.Set("traceparent", tc.in)
			}
			if got := tracecontext.TraceParent(tracecontext.FromHeader(context.Background(), h)); got != tc.want {
				t.Fatalf("FromHeader(%q) -> %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
