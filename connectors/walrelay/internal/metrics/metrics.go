// Package metrics defines the relay's Prometheus metrics.
//
// All metrics are labelled by connector name. They are registered on the
// registry given to New, so tests and embedders can use their own.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the relay's collectors.
type Metrics struct {
	// EventsProduced counts records acknowledged by the broker, by
	// connector and topic.
	EventsProduced *prometheus.CounterVec
	// TaskFailures counts connector tasks that ended FAILED.
	TaskFailures *prometheus.CounterVec
	// TaskRetries counts retriable errors a task recovered from by
	// reconnecting.
	TaskRetries *prometheus.CounterVec
	// RetainedWAL is the WAL PostgreSQL keeps for a connector's slot:
	// pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn). It is kept
	// current while the connector has a task, streaming, reconnecting or
	// FAILED.
	RetainedWAL *prometheus.GaugeVec
	// ConfirmedLSN is the last position confirmed to PostgreSQL, as a
	// number.
	ConfirmedLSN *prometheus.GaugeVec
	// CommitToAck is the time from a transaction's commit in PostgreSQL
	// to the broker's acknowledgement of its last record.
	CommitToAck *prometheus.HistogramVec
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsProduced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walrelay_events_produced_total",
			Help: "Records acknowledged by the broker.",
		}, []string{"connector", "topic"}),
		TaskFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walrelay_task_failures_total",
			Help: "Connector tasks that ended in the FAILED state.",
		}, []string{"connector"}),
		TaskRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walrelay_task_retries_total",
			Help: "Retriable errors (lost connections, busy slot) a task reconnected after.",
		}, []string{"connector"}),
		RetainedWAL: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "walrelay_slot_retained_wal_bytes",
			Help: "WAL kept by PostgreSQL for the connector's replication slot (current WAL position minus restart_lsn).",
		}, []string{"connector", "slot"}),
		ConfirmedLSN: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "walrelay_confirmed_lsn",
			Help: "Last WAL position confirmed to PostgreSQL as flushed.",
		}, []string{"connector", "slot"}),
		CommitToAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "walrelay_commit_to_ack_seconds",
			Help:    "Time from a transaction's commit in PostgreSQL to the broker's acknowledgement of its last record.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"connector"}),
	}
	reg.MustRegister(m.EventsProduced, m.TaskFailures, m.TaskRetries, m.RetainedWAL, m.ConfirmedLSN, m.CommitToAck)
	return m
}

// Forget removes a connector's series (after DELETE), so a deleted
// connector does not keep reporting its last values.
func (m *Metrics) Forget(connector string) {
	l := prometheus.Labels{"connector": connector}
	m.EventsProduced.DeletePartialMatch(l)
	m.TaskFailures.DeletePartialMatch(l)
	m.TaskRetries.DeletePartialMatch(l)
	m.RetainedWAL.DeletePartialMatch(l)
	m.ConfirmedLSN.DeletePartialMatch(l)
	m.CommitToAck.DeletePartialMatch(l)
}
