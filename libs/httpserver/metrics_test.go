package httpserver_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// serveMeasured starts a server with metrics on a free port and returns its
// base URL; it stops when the test ends.
func serveMeasured(t *testing.T) string {
	t.Helper()
	e := httpserver.New(httpserver.Config{BodyLimit: "1K"})
	httpserver.ServeMetrics(e, prometheus.NewRegistry())
	e.GET("/things/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, c.Param("id")) })
	e.POST("/things", func(c echo.Context) error {
		var w widget
		if err := httpserver.DecodeJSON(c, &w); err != nil {
			return err
		}
		return validation.Field("count", "must be at least 1")
	})
	e.GET("/boom", func(echo.Context) error { return errors.New("secret database detail") })
	e.GET("/panic", func(echo.Context) error { panic("oops") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpserver.Serve(ctx, e, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// scrape GETs url (a /metrics endpoint) and parses the text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return mfs
}

// sample returns the value of the counter, or the sample count of the
// histogram, of family name whose labels are exactly labels.
func sample(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if !maps.Equal(got, labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestRequestsAreCountedByRouteTemplate(t *testing.T) {
	base := serveMeasured(t)
	requests := []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/things/a", "", 200},
		{"GET", "/things/b", "", 200},
		{"GET", "/things/%00", "", 400},
		{"POST", "/things", `{"name":"a","count":0}`, 422},
		{"POST", "/things", `{"name":`, 400},
		{"POST", "/things", `{"name":"` + strings.Repeat("x", 2048) + `"}`, 413},
		{"DELETE", "/things/a", "", 405},
		{"BREW", "/things/a", "", 405},
		{"GET", "/nowhere/a", "", 404},
		{"GET", "/nowhere/b", "", 404},
		{"GET", "/boom", "", 500},
		{"GET", "/panic", "", 500},
		{"GET", "/healthz", "", 200},
	}
	for _, r := range requests {
		req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("%s %s = %d, want %d", r.method, r.path, resp.StatusCode, r.status)
		}
	}
	scrape(t, base+"/metrics") // the first scrape is counted in the next
	mfs := scrape(t, base+"/metrics")

	for _, tc := range []struct {
		method, route, status string
		want                  float64
	}{
		{"GET", "/things/:id", "200", 2},
		{"GET", "/things/:id", "400", 1},
		{"POST", "/things", "422", 1},
		{"POST", "/things", "400", 1},
		{"POST", "/things", "413", 1},
		{"DELETE", "/things/:id", "405", 1},
		{"other", "/things/:id", "405", 1},
		{"GET", "unmatched", "404", 2},
		{"GET", "/boom", "500", 1},
		{"GET", "/panic", "500", 1},
		{"GET", "/healthz", "200", 1},
		{"GET", "/metrics", "200", 1},
	} {
		t.Run(tc.method+" "+tc.route+" "+tc.status, func(t *testing.T) {
			labels := map[string]string{"method": tc.method, "route": tc.route, "status": tc.status}
			if got, ok := sample(mfs, "http_requests_total", labels); !ok || got != tc.want {
				t.Errorf("http_requests_total%v = %v (present %v), want %v", labels, got, ok, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		method, route string
		want          float64
	}{
		{"GET", "/things/:id", 3},
		{"POST", "/things", 3},
		{"GET", "unmatched", 2},
	} {
		t.Run("duration "+tc.method+" "+tc.route, func(t *testing.T) {
			labels := map[string]string{"method": tc.method, "route": tc.route}
			if got, ok := sample(mfs, "http_request_duration_seconds", labels); !ok || got != tc.want {
				t.Errorf("http_request_duration_seconds%v count = %v (present %v), want %v", labels, got, ok, tc.want)
			}
		})
	}
	var series int
	for _, m := range mfs["http_requests_total"].GetMetric() {
		series++
		for _, lp := range m.GetLabel() {
			if strings.Contains(lp.GetValue(), "nowhere") || strings.Contains(lp.GetValue(), "/things/a") || lp.GetValue() == "BREW" {
				t.Errorf("label %s=%q holds what a client sent", lp.GetName(), lp.GetValue())
			}
		}
	}
	if series != 12 {
		t.Errorf("http_requests_total has %d series, want 12", series)
	}
}
