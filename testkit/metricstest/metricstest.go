// Package metricstest reads a running service's Prometheus metrics over
// HTTP, as a scraper does, for tests that assert on them.
package metricstest

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// Scrape GETs base's /metrics over HTTP and returns every sample of family
// name (a counter's or gauge's value), keyed by its labels as
// {name="value",...} in name order.
func Scrape(t testing.TB, base, name string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for _, m := range mfs[name].GetMetric() {
		var labels []string
		for _, lp := range m.GetLabel() {
			labels = append(labels, lp.GetName()+"="+`"`+lp.GetValue()+`"`)
		}
		slices.Sort(labels)
		out["{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return out
}

// WaitCaughtUp waits until the consumer has reported a lag for some
// partition and every lag it reports is 0: each record it fetched is
// finished, and so counted.
func WaitCaughtUp(t testing.TB, base string) {
	t.Helper()
	servicetest.WaitFor(t, 30*time.Second, "consumer_lag 0 on every partition", func() bool {
		lags := Scrape(t, base, "consumer_lag")
		return len(lags) > 0 && !slices.ContainsFunc(slices.Collect(maps.Values(lags)), func(v float64) bool { return v != 0 })
	})
}

// WantSamples fails t unless family name has exactly the samples want.
func WantSamples(t testing.TB, base, name string, want map[string]float64) {
	t.Helper()
	if got := Scrape(t, base, name); !maps.Equal(got, want) {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}
