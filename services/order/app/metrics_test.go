package app_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/app"
	"github.com/outboxcdc/outboxcdc/services/order/internal/ordertest"
)

// scrape GETs /metrics over HTTP and parses the text exposition.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	r := e.Do(http.MethodGet, "/metrics", nil, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("GET /metrics = %d %s", r.Status, r.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(r.Body)))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// series returns the metrics of family name whose labels include labels.
func series(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range mfs[name].GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if subset(labels, got) {
			out = append(out, m)
		}
	}
	return out
}

func subset(want, got map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// value is the counter or gauge value, or the histogram's sample count, of
// the one series of name with labels; -1 when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	ms := series(mfs, name, labels)
	if len(ms) != 1 {
		return -1
	}
	switch m := ms[0]; {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

// TestMetrics places an order over HTTP, confirms it through the consumer
// with the payment and inventory services' events, and reads the outcome
// from GET /metrics: the order counted once as CONFIRMED (a late event
// changes nothing), its time to confirmation as the history records it,
// its two events written, the consumed events and HTTP requests counted,
// and the consumer's lag back at 0.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := start(t)
	o := e.Place(ordertest.SampleOrder)
	e.capture(o)
	e.reserve(o)
	confirmed := e.waitOrder(o.ID, "CONFIRMED", func(o ordertest.Order) bool { return o.Status == "CONFIRMED" })
	// Too late to change anything: the order is final already.
	late := e.emit(events.TopicPayment, events.TypePaymentFailed, o.ID, paymentFailed(o, "card expired"))
	e.waitInbox(late)

	if r := e.Do(http.MethodPost, "/orders", []byte(`{"customerId":"cust-42","currency":"EUR","items":[]}`), nil); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("POST /orders without items = %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodGet, "/no/such/route", nil, nil); r.Status != http.StatusNotFound {
		t.Fatalf("GET /no/such/route = %d %s", r.Status, r.Body)
	}

	var mfs map[string]*dto.MetricFamily
	eventually(t, "the confirmation counted and every partition's lag 0", func() (bool, string) {
		mfs = e.scrape()
		lags := series(mfs, "consumer_lag", map[string]string{"group": app.DefaultKafkaGroup})
		var last []string
		done := len(lags) > 0
		for _, m := range lags {
			last = append(last, fmt.Sprint(m.GetLabel(), m.GetGauge().GetValue()))
			done = done && m.GetGauge().GetValue() == 0
		}
		terminal := value(mfs, "orders_terminal_total", map[string]string{"status": "CONFIRMED"})
		return done && terminal == 1, fmt.Sprintf("CONFIRMED %v, lags %v", terminal, last)
	})

	group := func(topic, typ, outcome string) map[string]string {
		return map[string]string{"group": app.DefaultKafkaGroup, "topic": topic, "type": typ, "outcome": outcome}
	}
	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"confirmed once", "orders_terminal_total", map[string]string{"status": "CONFIRMED"}, 1},
		{"none cancelled", "orders_terminal_total", map[string]string{"status": "CANCELLED"}, 0},
		{"one time to final", "order_create_to_terminal_seconds", nil, 1},
		{"OrderCreated written", "outbox_events_written_total", map[string]string{"aggregate": "order", "type": events.TypeOrderCreated}, 1},
		{"OrderConfirmed written", "outbox_events_written_total", map[string]string{"aggregate": "order", "type": events.TypeOrderConfirmed}, 1},
		{"payment consumed", "consumer_events_total", group(events.TopicPayment, events.TypePaymentCaptured, "processed"), 1},
		{"late event consumed", "consumer_events_total", group(events.TopicPayment, events.TypePaymentFailed, "processed"), 1},
		{"inventory consumed", "consumer_events_total", group(events.TopicInventory, events.TypeInventoryReserved, "processed"), 1},
		{"order placed", "http_requests_total", map[string]string{"method": "POST", "route": "/orders", "status": "201"}, 1},
		{"invalid order", "http_requests_total", map[string]string{"method": "POST", "route": "/orders", "status": "422"}, 1},
		{"unknown route", "http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "status": "404"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := value(mfs, tc.metric, tc.labels); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.metric, tc.labels, got, tc.want)
			}
		})
	}
	t.Run("time to final as the history records it", func(t *testing.T) {
		h := series(mfs, "order_create_to_terminal_seconds", nil)
		if len(h) != 1 {
			t.Fatalf("order_create_to_terminal_seconds has %d series, want 1", len(h))
		}
		want := confirmed.History[len(confirmed.History)-1].At.Sub(confirmed.CreatedAt).Seconds()
		if got := h[0].GetHistogram().GetSampleSum(); math.Abs(got-want) > float64(time.Microsecond)/float64(time.Second) {
			t.Errorf("sum = %vs, want %vs (created %v, confirmed %v)", got, want, confirmed.CreatedAt, confirmed.History[len(confirmed.History)-1].At)
		}
	})
	t.Run("route templates, never ids", func(t *testing.T) {
		if got := value(mfs, "http_requests_total", map[string]string{"method": "GET", "route": "/orders/:id", "status": "200"}); got < 1 {
			t.Errorf("GET /orders/:id 200 = %v, want the polls counted", got)
		}
		for _, m := range mfs["http_requests_total"].GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetValue(), o.ID) || strings.Contains(lp.GetValue(), "/no/such") {
					t.Errorf("label %s=%q holds a raw path", lp.GetName(), lp.GetValue())
				}
			}
		}
	})
	t.Run("Go and process collectors", func(t *testing.T) {
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
			if mfs[name] == nil {
				t.Errorf("%s missing", name)
			}
		}
	})
}
