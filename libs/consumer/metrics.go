package consumer

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes counted by consumer_events_total.
const (
	// OutcomeProcessed: the event was new; its transaction committed.
	OutcomeProcessed = "processed"
	// OutcomeDuplicate: the inbox already had the event; it was skipped.
	OutcomeDuplicate = "duplicate"
	// OutcomeDeadLettered: the record was produced to the dead-letter
	// topic.
	OutcomeDeadLettered = "dead_lettered"
	// OutcomeRetried: one more attempt at an event after a failed one.
	OutcomeRetried = "retried"
	// OutcomeIgnored: the event's type is not among Config.Types; it was
	// finished without a transaction and left no inbox row.
	OutcomeIgnored = "ignored"
)

// OtherType is the type label of events whose type is not one of those
// given to NewMetrics (none, or one no handler knows): the label takes
// what producers write, so it is bounded to what the service consumes.
const OtherType = "other"

// HandlerBuckets are the bounds, in seconds, of
// consumer_handler_duration_seconds: 1 ms to the default attempt timeout.
var HandlerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics are a consumer's Prometheus metrics (Config.Metrics). A nil
// *Metrics records nothing.
type Metrics struct {
	events   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	lag      *prometheus.GaugeVec
	types    map[string]bool
}

// NewMetrics registers on reg, once per registry:
//
//	consumer_events_total{group,topic,type,outcome}     counter
//	consumer_handler_duration_seconds{group,topic,type} histogram
//	consumer_lag{group,topic,partition}                 gauge
//
// types are the event types the service handles (its Mux's Types); any
// other type is labelled OtherType. outcome is one of the Outcome
// constants; a record is counted once as processed, duplicate,
// dead_lettered or ignored when it is finished, and once as retried for
// every attempt after its first. The handler duration is that of each
// attempt's validation and handler call, failed ones included, for new
// events.
//
// consumer_lag is, for each partition the member owns, the partition's
// last stable offset (the end a read_committed consumer can reach: the
// high watermark, unless a producer transaction is still open) as of its
// latest fetch, minus the offset after the last record finished (processed,
// skipped or dead-lettered, that is: marked for commit). Committed
// transactions end with a control record (the commit marker) that takes an
// offset of its own, one past the transaction's last record, and the end
// offsets count it; a definition on data records alone would be 1 short
// after every transaction, forever. The consumer therefore receives
// control records (kgo.KeepControlRecords), hands none to the handler, and
// finishes each one like a record, so the gauge (and the offset the group
// commits) reaches 0 once everything fetched is finished, whether the
// partition ends with a plain record, a commit marker or an abort marker
// (the aborted records before it are skipped, never handled). A partition
// appears once it has fetched records and disappears when it is revoked.
func NewMetrics(reg prometheus.Registerer, types ...string) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consumer_events_total",
			Help: "Consumed events by consumer group, topic, event type and outcome (processed, duplicate, dead_lettered, ignored, retried).",
		}, []string{"group", "topic", "type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "consumer_handler_duration_seconds",
			Help:    "Time of one attempt's validation and handler call, by consumer group, topic and event type.",
			Buckets: HandlerBuckets,
		}, []string{"group", "topic", "type"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "consumer_lag",
			Help: "Records of an owned partition not yet finished: its last stable offset as of the latest fetch minus the offset after the last finished record.",
		}, []string{"group", "topic", "partition"}),
		types: make(map[string]bool, len(types)),
	}
	for _, t := range types {
		m.types[t] = true
	}
	reg.MustRegister(m.events, m.duration, m.lag)
	return m
}

func (m *Metrics) typeLabel(t string) string {
	if m.types[t] {
		return t
	}
	return OtherType
}

// counted counts one outcome of an event of type typ.
func (m *Metrics) counted(group, topic, typ, outcome string) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(group, topic, m.typeLabel(typ), outcome).Inc()
}

// handled observes one attempt's handler call.
func (m *Metrics) handled(group, topic, typ string, d time.Duration) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(group, topic, m.typeLabel(typ)).Observe(d.Seconds())
}

// setLag sets the lag of a partition; forgetLag removes it.
func (m *Metrics) setLag(group, topic string, partition int32, lag int64) {
	if m == nil {
		return
	}
	m.lag.WithLabelValues(group, topic, strconv.FormatInt(int64(partition), 10)).Set(float64(max(lag, 0)))
}

func (m *Metrics) forgetLag(group, topic string, partition int32) {
	if m == nil {
		return
	}
	m.lag.DeleteLabelValues(group, topic, strconv.FormatInt(int64(partition), 10))
}
