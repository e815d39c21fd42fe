package outbox

import (
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

// Metrics counts the events that writers with Count wrote, once their
// transactions committed.
type Metrics struct {
	written *prometheus.CounterVec
}

// NewMetrics registers on reg, once per registry:
//
//	outbox_events_written_total{aggregate,type}  counter
//
// aggregate is the event's aggregate type (which picks its topic) and type
// its event type.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{written: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "outbox_events_written_total",
		Help: "Events written to the outbox by transactions that committed, by aggregate type and event type.",
	}, []string{"aggregate", "type"})}
	reg.MustRegister(m.written)
	return m
}

// Count makes the writer count in m the events it appends, when the
// transaction they were appended through commits: an event rolled back
// with its transaction was never written, and is not counted. The commit
// is observed through package pgtx, so the transaction must be one that
// pgtx began (the consumer's are; a service's own begin with
// pgtx.BeginFunc); events appended through another are written all the
// same but not counted. A nil m counts nothing.
func Count(m *Metrics) Option { return func(w *Writer) { w.metrics = m } }

// countOnCommit counts events in w's metrics once tx commits.
func (w *Writer) countOnCommit(tx pgx.Tx, events []Event) {
	if w.metrics == nil {
		return
	}
	type series struct{ aggregate, typ string }
	n := map[series]float64{}
	for _, e := range events {
		n[series{e.AggregateType, e.Type}]++
	}
	pgtx.AfterCommit(tx, func() {
		for s, k := range n {
			w.metrics.written.WithLabelValues(s.aggregate, s.typ).Add(k)
		}
	})
}
