package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

// finalBuckets are the bounds, in seconds, of
// order_create_to_terminal_seconds: a saga that runs end to end in tens of
// milliseconds, up to one held for minutes by retries or a stalled
// connector.
var finalBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// orderMetrics are the order service's own metrics:
//
//	orders_terminal_total{status}     counter: orders that became CONFIRMED or CANCELLED
//	order_create_to_terminal_seconds  histogram: from an order's creation to its final status
//
// Both count an order once, after the transaction that made it final
// commits (postgres.Options.OnFinal).
type orderMetrics struct {
	terminal *prometheus.CounterVec
	duration prometheus.Histogram
}

func newOrderMetrics(reg prometheus.Registerer) *orderMetrics {
	m := &orderMetrics{
		terminal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orders_terminal_total",
			Help: "Orders that reached a final status (CONFIRMED or CANCELLED), counted when that change committed.",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "order_create_to_terminal_seconds",
			Help:    "Time from an order's creation to its final status (CONFIRMED or CANCELLED), as its history records them.",
			Buckets: finalBuckets,
		}),
	}
	// Both series exist from the start, so a rate over them is defined
	// before the first order ends either way.
	for _, s := range []order.Status{order.StatusConfirmed, order.StatusCancelled} {
		m.terminal.WithLabelValues(string(s))
	}
	reg.MustRegister(m.terminal, m.duration)
	return m
}

// final records an order that became final: postgres.Options.OnFinal.
func (m *orderMetrics) final(status order.Status, createdAt, finalAt time.Time) {
	m.terminal.WithLabelValues(string(status)).Inc()
	m.duration.Observe(max(finalAt.Sub(createdAt), 0).Seconds())
}
