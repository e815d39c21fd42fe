package sourcetask

import (
	"context"
	"errors"
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
		if err := s.sendStatus(confirmed, false); err != nil {
			return err
		}
	}
	return nil
}

// errSilentServer ends a stream that heard nothing from the server for
// Options.Silence, though it asked for a reply: a connection lost without
// a word (a network that drops it silently, a server that hangs) or a read
// that no longer reaches the socket. The task reconnects.
var errSilentServer = errors.New("no message from the server")

// checkSilence asks the server for a reply once the stream has heard
// nothing from it since heard for half of Options.Silence, and gives the
// stream up when the other half passes with no answer. askedAt records
// when it asked (zero: not yet); the wait counts from the request, so a
// stream that was busy elsewhere (a producer waiting on the broker) is not
// given up on before the server had its chance to answer.
func (s *streamer) checkSilence(now, heard time.Time, askedAt *time.Time) error {
	half := s.opts.Silence / 2
	switch {
	case now.Sub(heard) < half:
		return nil
	case askedAt.IsZero():
		*askedAt = now
		return s.sendStatus(s.tracker.Confirmed(), true)
	case now.Sub(*askedAt) >= half:
		return fmt.Errorf("%w in %s, none since asking for a reply %s ago", errSilentServer,
			now.Sub(heard).Round(time.Millisecond), now.Sub(*askedAt).Round(time.Millisecond))
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
