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

// checkSilence gives up on the stream when it has heard nothing from the
// server since heard for Options.Silence, and asks the server for a reply
// once halfway there (asked records that it did).
func (s *streamer) checkSilence(now, heard time.Time, asked *bool) error {
	quiet := now.Sub(heard)
	switch {
	case quiet >= s.opts.Silence:
		return fmt.Errorf("%w in %s, a reply asked for after %s", errSilentServer, quiet.Round(time.Millisecond), s.opts.Silence/2)
	case quiet >= s.opts.Silence/2 && !*asked:
		*asked = true
		return s.sendStatus(s.tracker.Confirmed(), true)
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
