package sourcetask

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// dropSlot drops the slot after an orderly stop (slot.drop.on.stop).
func (t *Task) dropSlot() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, t.cfg.DB.ConnString())
	if err == nil {
		defer conn.Close(context.WithoutCancel(ctx))
		err = replication.DropSlot(ctx, conn, t.cfg.SlotName)
	}
	if err != nil {
		t.log.Error("slot.drop.on.stop: could not drop the slot", "slot", t.cfg.SlotName, "error", err)
		return
	}
	t.opts.Metrics.RetainedWAL.DeleteLabelValues(t.cfg.Name, t.cfg.SlotName)
	t.log.Info("dropped replication slot (slot.drop.on.stop)", "slot", t.cfg.SlotName)
}

// checkSlot reads the slot's state. An existing slot must be a pgoutput
// slot of the connector's database; one that another connection still
// streams from (usually the walsender of a connection that just died) is
// a retriable error.
func (t *Task) checkSlot(ctx context.Context, conn *pgx.Conn) (slot replication.Slot, exists bool, err error) {
	slot, exists, err = replication.SlotState(ctx, conn, t.cfg.SlotName)
	if err != nil || !exists {
		return slot, exists, err
	}
	if !slot.Logical || slot.Plugin != "pgoutput" {
		return slot, exists, permanent(fmt.Errorf("replication slot %q exists but uses plugin %q; walrelay needs a pgoutput slot (drop it or choose another slot.name)", t.cfg.SlotName, slot.Plugin))
	}
	if slot.Database != t.cfg.DB.DBName {
		return slot, exists, permanent(fmt.Errorf("replication slot %q belongs to database %q, not %q", t.cfg.SlotName, slot.Database, t.cfg.DB.DBName))
	}
	if slot.Active {
		return slot, exists, fmt.Errorf("%w: slot %q", errSlotBusy, t.cfg.SlotName)
	}
	return slot, exists, nil
}

// openSlot prepares the stream's start position and its tracker: it resumes
// from an existing slot at its confirmed position (reading the tables again
// when the note says an initial snapshot was interrupted) or creates the
// slot, reading the initial snapshot inside the snapshot the slot exports.
func (s *streamer) openSlot(ctx context.Context, slot replication.Slot, exists bool, tables []replication.Table) (start pgoutput.LSN, err error) {
	marks := s.opts.SnapshotMarks
	initial := s.cfg.SnapshotMode == SnapshotInitial
	if exists {
		start = slot.ConfirmedFlush
		s.running()
		s.tracker = s.newTracker(start)
		s.log.Info("resuming from slot", "slot", s.cfg.SlotName, "lsn", start)
		if marks != nil && marks.SnapshotPending(s.cfg.Name) {
			if initial {
				// The process died while reading the initial snapshot.
				// The slot's own snapshot is gone; read the tables again
				// as they are now. Rows committed since the slot was
				// created may arrive twice, which at-least-once allows.
				s.log.Warn("the initial snapshot was interrupted; reading the tables again")
				if err := s.snapshotAndFlush(ctx, "", tables, start); err != nil {
					return 0, err
				}
			}
			if err := marks.SetSnapshotPending(ctx, s.cfg.Name, false); err != nil {
				return 0, err
			}
		}
	} else {
		if initial && marks != nil {
			if err := marks.SetSnapshotPending(ctx, s.cfg.Name, true); err != nil {
				return 0, err
			}
		}
		// PostgreSQL creates the slot once every transaction that holds
		// an id now has ended; a session idle in a transaction keeps the
		// task STARTING until then.
		s.log.Info("creating replication slot; it waits for the transactions running now to end", "slot", s.cfg.SlotName)
		created, err := s.repl.CreateSlot(ctx, s.cfg.SlotName, initial)
		if err != nil {
			return 0, err
		}
		start = created.ConsistentPoint
		s.running()
		s.tracker = s.newTracker(start)
		s.log.Info("created replication slot", "slot", s.cfg.SlotName, "lsn", start, "snapshot", s.cfg.SnapshotMode)
		if initial {
			if err := s.snapshotAndFlush(ctx, created.SnapshotName, tables, start); err != nil {
				// Without the slot the next start snapshots again; with it
				// the rows not yet sent would never be.
				s.dropSlotAfterFailedSnapshot()
				return 0, err
			}
			if marks != nil {
				if err := marks.SetSnapshotPending(ctx, s.cfg.Name, false); err != nil {
					return 0, err
				}
			}
		}
	}

	return start, nil
}

// dropSlotAfterFailedSnapshot removes a slot whose snapshot did not finish.
func (s *streamer) dropSlotAfterFailedSnapshot() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.repl.Close(ctx)
	if err := replication.DropSlot(ctx, s.conn, s.cfg.SlotName); err != nil {
		s.log.Error("could not drop the slot of an unfinished snapshot; drop it before restarting, or rows will be missed", "slot", s.cfg.SlotName, "error", err)
		return
	}
	s.log.Info("dropped the slot of an unfinished snapshot", "slot", s.cfg.SlotName)
}
