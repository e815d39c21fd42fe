package app

import (
	"context"
	"log/slog"
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
//
// Refused orders log nothing each (httpserver.NewRefusal): the backlog logs
// a warning when it starts refusing and a line when it admits again.
type backlog struct {
	max     int
	count   func(ctx context.Context, limit int) (int, error)
	log     *slog.Logger
	n       atomic.Int64
	gauge   prometheus.Gauge
	refused bool // at the bound as last counted; only refresh uses it
}

// newBacklog registers orders_backlog on reg: the PENDING orders as last
// counted (at most max+1).
func newBacklog(max int, count func(ctx context.Context, limit int) (int, error), reg prometheus.Registerer, log *slog.Logger) *backlog {
	b := &backlog{max: max, count: count, log: log, gauge: prometheus.NewGauge(prometheus.GaugeOpts{
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
	switch full := n >= b.max; {
	case full && !b.refused:
		b.log.Warn("refusing new orders until the saga catches up (503 overloaded)", "pending", n, "max_backlog", b.max)
	case !full && b.refused:
		b.log.Info("admitting new orders again", "pending", n, "max_backlog", b.max)
	}
	b.refused = n >= b.max
	return nil
}

// admit refuses a new order while the backlog is at its bound.
func (b *backlog) admit() error {
	if b.n.Load() >= int64(b.max) {
		return httpapi.ErrOverloaded
	}
	return nil
}
