package sourcetask

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// relation is what the task knows about a table of the stream.
type relation struct {
	schema, table string
	cols          []replication.Column
	captured      bool
}

// routeColumns returns the router's columns for a row of rel: the catalog
// facts with the tuple's values, in buf when it is large enough. The values
// alias tup and old. An unchanged TOASTed value of an update takes the old
// tuple's value when it carries one (REPLICA IDENTITY FULL), as Debezium
// does, and the unavailable-value placeholder otherwise.
func (rel *relation) routeColumns(buf []eventrouter.Column, tup, old pgoutput.Tuple, placeholder func(typeOID uint32) []byte) ([]eventrouter.Column, error) {
	if len(tup) != len(rel.cols) {
		return nil, permanent(fmt.Errorf("pgoutput: %s.%s row has %d columns, its Relation %d", rel.schema, rel.table, len(tup), len(rel.cols)))
	}
	if old != nil && len(old) != len(rel.cols) {
		return nil, permanent(fmt.Errorf("pgoutput: %s.%s old row has %d columns, its Relation %d", rel.schema, rel.table, len(old), len(rel.cols)))
	}
	out := buf[:0]
	if cap(out) < len(tup) {
		out = make([]eventrouter.Column, 0, len(tup))
	}
	for i, tc := range tup {
		c := &rel.cols[i]
		col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: c.Key}
		switch tc.Kind {
		case pgoutput.TupleNull:
			col.Null = true
		case pgoutput.TupleText:
			col.Value = tc.Data
		case pgoutput.TupleUnchanged:
			if old != nil && old[i].Kind == pgoutput.TupleText {
				col.Value = old[i].Data
				break
			}
			col.Value = placeholder(c.TypeOID)
			col.Unavailable = true
		default:
			return nil, permanent(fmt.Errorf("pgoutput: binary value for %s.%s.%s (only text format is supported)", rel.schema, rel.table, c.Name))
		}
		out = append(out, col)
	}
	return out, nil
}

// change routes one row change of the stream.
func (s *streamer) change(ctx context.Context, op eventrouter.Op, relID uint32, newTup, oldTup pgoutput.Tuple, now time.Time) error {
	rel := s.rels[relID]
	if rel == nil {
		return permanent(fmt.Errorf("pgoutput: change for relation %d before its Relation message", relID))
	}
	if !rel.captured || s.cfg.Skipped[op] {
		return nil
	}
	if s.entry == nil {
		return permanent(errors.New("pgoutput: row change outside a transaction"))
	}
	rec, err := s.route(op, rel, newTup, oldTup, now)
	if err != nil || rec == nil {
		return err
	}
	return s.produce(s.entry, rec)
}

// route turns one captured row change into its record; nil when the
// router drops it.
func (s *streamer) route(op eventrouter.Op, rel *relation, newTup, oldTup pgoutput.Tuple, now time.Time) (*eventrouter.Record, error) {
	ch := eventrouter.Change{Op: op, Schema: rel.schema, Table: rel.table}
	if newTup != nil {
		var old pgoutput.Tuple
		if op == eventrouter.OpUpdate {
			old = oldTup
		}
		after, err := rel.routeColumns(s.after, newTup, old, s.placeholder)
		if err != nil {
			return nil, err
		}
		s.after = after
		ch.After = after
	}
	if op == eventrouter.OpUpdate && oldTup != nil {
		oldKey, changed, err := s.keyChange(rel, oldTup, newTup)
		if err != nil {
			return nil, err
		}
		if changed {
			ch.OldKey = oldKey
		}
	}
	return s.router.Route(ch, now)
}

const byteaOID = 17

// placeholder stands in for an unchanged TOASTed value the stream does not
// carry, as Debezium's unavailable.value.placeholder does.
func (s *streamer) placeholder(typeOID uint32) []byte {
	if typeOID == byteaOID {
		return []byte(`\x` + hex.EncodeToString([]byte(s.cfg.UnavailablePlaceholder)))
	}
	return []byte(s.cfg.UnavailablePlaceholder)
}

// keyChange reports whether an update changed the row's key, and the old
// key columns if so. Debezium emits such an update as delete + create.
func (s *streamer) keyChange(rel *relation, oldTup, newTup pgoutput.Tuple) ([]eventrouter.Column, bool, error) {
	if len(oldTup) != len(rel.cols) || len(newTup) != len(rel.cols) {
		return nil, false, permanent(fmt.Errorf("pgoutput: %s.%s update tuples do not match the Relation", rel.schema, rel.table))
	}
	var oldKey []eventrouter.Column
	changed := false
	for i, c := range rel.cols {
		if !c.Key {
			continue
		}
		o, n := oldTup[i], newTup[i]
		col := eventrouter.Column{Name: c.Name, TypeOID: c.TypeOID, TypeMod: c.TypeMod, NotNull: c.NotNull, Key: true}
		switch o.Kind {
		case pgoutput.TupleText:
			col.Value = o.Data
		case pgoutput.TupleNull:
			col.Null = true
		default:
			continue // not in the old tuple: cannot have changed as far as we know
		}
		oldKey = append(oldKey, col)
		if n.Kind == pgoutput.TupleUnchanged {
			continue
		}
		if o.Kind != n.Kind || !bytes.Equal(o.Data, n.Data) {
			changed = true
		}
	}
	return oldKey, changed, nil
}
