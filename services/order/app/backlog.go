package app

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
)

// backlog is the order service's admission control: the saga's backlog
// (orders still PENDING), counted every so often, and new orders refused
// while it is at its bound. Past saturation the write path accepts orders
// faster than the saga finishes them; without a bound every accepted order
// waits behind an ever longer queue. The count lags by at most one refresh,
// so the backlog may pass the bound by what arrives meanwhile.
type backlog struct {
	max   int
	count func(ctx context.Context, limit int) (int, error)
	n     atomic.Int64
	gauge prometheus.Gauge
}

// newBacklog registers orders_backlog on reg: the PENDING orders as last
// counted (at most max+1).
func newBacklog(max int, count func(ctx context.Context, limit int) (int, error), reg prometheus.Registerer) *backlog {
	b := &backlog{max: max, count: count, gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orders_backlog",
		Help: "Orders still PENDING as last counted (up to MAX_BACKLOG+1): the saga's backlog that admission control bounds.",
	})}
	reg.MustRegister(b.gauge)
	return b
}

// refresh counts the backlog.
func (b *backlog) refresh(ctx context.Context) error {
	n, err := b.count(ctx, b.max+1)
	if err != nil {
		return err
	}
	b.n.Store(int64(n))
	b.gauge.Set(float64(n))
	return nil
}

// admit refuses a new order while the backlog is at its bound.
func (b *backlog) admit() error {
	if b.n.Load() >= int64(b.max) {
		return httpapi.ErrOverloaded
	}
	return nil
}
