package sourcetask

import (
	"context"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

func (s *streamer) newTracker(start pgoutput.LSN) *delivery.Tracker {
	lag := s.opts.Metrics.CommitToAck.WithLabelValues(s.cfg.Name)
	return delivery.NewTracker(start, func(commitTime time.Time, _ int) {
		// Only transactions have a commit time; snapshots, heartbeats
		// and non-transactional messages are sealed without one.
		if !commitTime.IsZero() {
			lag.Observe(time.Since(commitTime).Seconds())
		}
	})
}

// sendStatus confirms confirmed to the server; with reply, it asks the
// server to answer at once.
func (s *streamer) sendStatus(confirmed pgoutput.LSN, reply bool) error {
	if err := s.repl.SendStatus(confirmed, confirmed, reply); err != nil {
		return err
	}
	if confirmed != s.lastSent {
		s.log.Debug("confirmed", "lsn", confirmed)
	}
	s.lastSent = confirmed
	s.lastStatus = time.Now()
	s.opts.Metrics.ConfirmedLSN.WithLabelValues(s.cfg.Name, s.cfg.SlotName).Set(float64(confirmed))
	return nil
}

// finish ends a stream: when flush is set it first waits (up to the
// shutdown timeout) for the broker to acknowledge what the producer holds,
// then it confirms what the broker acknowledged.
func (s *streamer) finish(flush bool) {
	if flush {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		if err := s.client.Flush(ctx); err != nil {
			s.log.Warn("flush on stop", "error", err, "in_flight", s.tracker.InFlight())
		}
		cancel()
	}
	confirmed := s.tracker.Confirmed()
	if err := s.sendStatus(confirmed, false); err != nil {
		s.log.Warn("final status update", "error", err)
		return
	}
	s.log.Info("stream closed", "confirmed_lsn", confirmed, "flushed", flush)
}
