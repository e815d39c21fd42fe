package sourcetask

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
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

// watchSlot keeps the slot's retained-WAL gauge current from the task's
// start until it is stopped: every SlotCheckInterval it reads
// pg_replication_slots on a connection of its own, so the gauge follows
// the slot while the task streams, while it waits to reconnect and after
// it FAILED, when nothing confirms positions and WAL piles up. A slot that
// does not exist has no series. When the database cannot be read the
// gauge keeps its last value and the watcher tries again at the next
// interval.
func (t *Task) watchSlot(ctx context.Context) {
	defer close(t.watched)
	var conn *pgx.Conn
	defer func() { closeConn(conn) }()
	tick := time.NewTicker(t.opts.SlotCheckInterval)
	defer tick.Stop()
	failing := false
	for {
		err := t.recordRetainedWAL(ctx, &conn)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			t.log.Warn("cannot read the slot's retained WAL; retrying", "slot", t.cfg.SlotName, "error", err)
		case err == nil && failing:
			t.log.Info("reading the slot's retained WAL again", "slot", t.cfg.SlotName)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// recordRetainedWAL sets the slot's retained-WAL gauge from the server,
// connecting first when *conn is not open.
func (t *Task) recordRetainedWAL(ctx context.Context, conn **pgx.Conn) error {
	if *conn == nil {
		c, err := pgx.Connect(ctx, t.cfg.DB.ConnString())
		if err != nil {
			return err
		}
		*conn = c
	}
	slot, ok, err := replication.SlotState(ctx, *conn, t.cfg.SlotName)
	if err != nil {
		closeConn(*conn)
		*conn = nil
		return err
	}
	if ok {
		t.opts.Metrics.RetainedWAL.WithLabelValues(t.cfg.Name, t.cfg.SlotName).Set(float64(slot.RetainedBytes))
	} else {
		t.opts.Metrics.RetainedWAL.DeleteLabelValues(t.cfg.Name, t.cfg.SlotName)
	}
	return nil
}

// closeConn closes conn, if any, waiting at most a few seconds for the
// server.
func closeConn(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
