package sourcetask

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// snapshotAndFlush reads the captured tables (inside the exported snapshot
// name, or a new one when name is empty) and waits until the broker has
// acknowledged every row.
func (s *streamer) snapshotAndFlush(ctx context.Context, name string, tables []replication.Table, at pgoutput.LSN) error {
	e := s.tracker.Open()
	n, err := s.snapshot(ctx, name, tables, e)
	if err != nil {
		return err
	}
	s.tracker.Seal(e, at, time.Time{})
	if err := s.client.Flush(ctx); err != nil {
		return fmt.Errorf("snapshot flush: %w", err)
	}
	if p := s.produceErr.Load(); p != nil {
		return *p
	}
	s.log.Info("snapshot read", "rows", n)
	return nil
}

// snapshot reads the captured tables inside the slot's exported snapshot
// and produces each row as a read ('r') event.
func (s *streamer) snapshot(ctx context.Context, name string, tables []replication.Table, e *delivery.Entry) (int, error) {
	n := 0
	err := replication.ReadSnapshot(ctx, s.conn, s.cat, name, tables, func(row replication.Row) error {
		if p := s.produceErr.Load(); p != nil {
			return *p
		}
		after := make([]eventrouter.Column, len(row.Columns))
		for i, c := range row.Columns {
			col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: c.Key}
			if row.Values[i] == nil {
				col.Null = true
			} else {
				// Row values are reused by the next row; records keep them.
				col.Value = bytes.Clone(row.Values[i])
			}
			after[i] = col
		}
		rec, err := s.router.Route(eventrouter.Change{Op: eventrouter.OpRead, Schema: row.Table.Schema, Table: row.Table.Name, After: after}, time.Now())
		if err != nil {
			return err
		}
		n++
		if rec == nil {
			return nil
		}
		return s.produce(e, rec)
	})
	return n, err
}
