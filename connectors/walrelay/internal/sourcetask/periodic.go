package sourcetask

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// periodic sends status updates and heartbeats when due.
func (s *streamer) periodic(ctx context.Context, replyNow bool, now time.Time) error {
	if !s.nextHeartbeat.IsZero() && !now.Before(s.nextHeartbeat) && !s.inTx {
		if err := s.heartbeat(ctx); err != nil {
			return err
		}
		s.nextHeartbeat = now.Add(s.cfg.HeartbeatInterval)
	}
	confirmed := s.tracker.Confirmed()
	since := now.Sub(s.lastStatus)
	if replyNow || since >= s.cfg.StatusInterval || (confirmed > s.lastSent && since >= time.Second) {
		if err := s.sendStatus(confirmed); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat runs the heartbeat action query, then emits the heartbeat
// record, as Debezium does.
func (s *streamer) heartbeat(ctx context.Context) error {
	if q := s.cfg.HeartbeatActionQuery; q != "" {
		if _, err := s.conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("could not execute heartbeat action query: %w", err)
		}
	}
	rec, err := s.router.Heartbeat(time.Now())
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	e := s.tracker.Open()
	if err := s.produce(e, rec); err != nil {
		return err
	}
	// The heartbeat carries no WAL position of its own: seal it at what
	// is already confirmable so it never holds anything back.
	s.tracker.Seal(e, s.tracker.Confirmed(), time.Time{})
	return nil
}
