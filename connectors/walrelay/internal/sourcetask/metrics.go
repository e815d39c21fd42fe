package sourcetask

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// producedCounter returns the events-produced counter of a topic. Only the
// stream's reader calls it.
func (s *streamer) producedCounter(topic string) prometheus.Counter {
	c, ok := s.produced[topic]
	if !ok {
		c = s.opts.Metrics.EventsProduced.WithLabelValues(s.cfg.Name, topic)
		s.produced[topic] = c
	}
	return c
}

// recordRetainedWAL sets the slot's retained-WAL gauge from the server.
func (s *streamer) recordRetainedWAL(ctx context.Context) error {
	slot, ok, err := replication.SlotState(ctx, s.conn, s.cfg.SlotName)
	if err != nil {
		return err
	}
	if ok {
		s.opts.Metrics.RetainedWAL.WithLabelValues(s.cfg.Name, s.cfg.SlotName).Set(float64(slot.RetainedBytes))
	}
	return nil
}
