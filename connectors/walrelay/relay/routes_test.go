package relay

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRoutesProfiles serves the routes over real HTTP: the Go profiles only
// when enabled, the REST API for everything else either way.
func TestRoutesProfiles(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	tests := []struct {
		name      string
		pprof     bool
		wantIndex int
	}{
		{"enabled", true, http.StatusOK},
		{"disabled by default", false, http.StatusTeapot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(routes(tt.pprof, prometheus.NewRegistry(), api))
			defer srv.Close()
			for path, want := range map[string]int{"/debug/pprof/": tt.wantIndex, "/connectors": http.StatusTeapot, "/metrics": http.StatusOK} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("GET %s = %d, want %d", path, resp.StatusCode, want)
				}
				if path == "/debug/pprof/" && tt.pprof && !strings.Contains(string(body), "goroutine") {
					t.Fatalf("GET %s: no profile index:\n%s", path, body)
				}
			}
		})
	}
}
