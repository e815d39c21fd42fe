package pgoutput_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStreamFromPostgres decodes what a real PostgreSQL sends for a
// pgoutput slot: every row operation, a truncate, both kinds of logical
// message, keepalives, and checks that a standby status update moves the
// slot's confirmed position.
func TestStreamFromPostgres(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)

	sql := mustConnect(t, dsn)
	mustExec(t, sql, `
CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, note varchar(20), big text);
ALTER TABLE item ALTER big SET STORAGE EXTERNAL;
CREATE PUBLICATION pub FOR TABLE item;`)

	repl := mustConnect(t, dsn+"&replication=database")
	res, err := repl.Exec(ctx, `CREATE_REPLICATION_SLOT "s1" LOGICAL pgoutput (SNAPSHOT 'nothing')`).ReadAll()
	if err != nil {
		t.Fatalf("create slot: %v", err)
	}
	consistent, err := pgoutput.ParseLSN(string(res[0].Rows[0][1]))
	if err != nil {
		t.Fatal(err)
	}

	big := strings.Repeat("x", 5000) // TOASTed, so an UPDATE not touching it sends 'u'
	mustExec(t, sql, fmt.Sprintf(`
INSERT INTO item VALUES (1, 'one', NULL, '%s'), (2, 'two', '', NULL);
UPDATE item SET note = 'n' WHERE id = 1;
UPDATE item SET id = 3 WHERE id = 2;
DELETE FROM item WHERE id = 3;
SELECT pg_logical_emit_message(true, 'tx', 'in a transaction');
SELECT pg_logical_emit_message(false, 'hb', '\x00ff'::bytea);
TRUNCATE item;`, big))

	start := fmt.Sprintf(`START_REPLICATION SLOT "s1" LOGICAL %s (proto_version '1', publication_names 'pub', messages 'true')`, consistent)
	repl.Frontend().Send(&pgproto3.Query{String: start})
	if err := repl.Frontend().Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := repl.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("start replication: %v", err)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("start replication: %s", e.Message)
		}
		if _, ok := msg.(*pgproto3.CopyBothResponse); ok {
			break
		}
	}

	// A multi-statement simple query runs as one transaction; the
	// non-transactional message is sent on its own as soon as its WAL
	// record is decoded.
	var got []string
	var lastEnd pgoutput.LSN
	relations := map[uint32]*pgoutput.Relation{}
	deadline := time.Now().Add(30 * time.Second)
	for !containsCommitAfterTruncate(got) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; decoded so far: %q", got)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		msg, err := repl.ReceiveMessage(rctx)
		cancel()
		if pgconn.Timeout(err) {
			continue
		}
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok {
			t.Fatalf("unexpected %T", msg)
		}
		cm, err := pgoutput.ParseCopyData(cd.Data)
		if err != nil {
			t.Fatal(err)
		}
		x, ok := cm.(*pgoutput.XLogData)
		if !ok {
			continue // keepalive
		}
		m, err := pgoutput.Parse(x.Data)
		if err != nil {
			t.Fatalf("parse %q: %v", x.Data, err)
		}
		got = append(got, describe(m, relations))
		if c, ok := m.(*pgoutput.Commit); ok {
			lastEnd = c.TransactionEndLSN
			if c.CommitTime.Before(time.Now().Add(-time.Hour)) || c.CommitTime.After(time.Now().Add(time.Hour)) {
				t.Errorf("commit time %v is not close to now", c.CommitTime)
			}
			if x.WALStart != c.TransactionEndLSN {
				t.Errorf("XLogData start %s for Commit, want the transaction end %s", x.WALStart, c.TransactionEndLSN)
			}
		}
	}

	want := []string{
		"Begin",
		"Relation public.item [id:23:key name:25 note:1043:24 big:25]",
		"Insert item [t:1 t:one n t:(5000 bytes)]",
		"Insert item [t:2 t:two t: n]",
		"Update item old=0[] new[t:1 t:one t:n u]",
		"Update item old=K[t:2 n n n] new[t:3 t:two t: n]",
		"Delete item old=K[t:3 n n n]",
		"Message tx transactional=true in a transaction",
		"Relation public.item [id:23:key name:25 note:1043:24 big:25]",
		"Truncate [item] options=0",
		"Commit",
	}
	// The non-transactional message is decoded when its WAL record is
	// read, before the commit of the transaction it was written in.
	want = append([]string{"Message hb transactional=false \x00\xff"}, want...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("decoded stream:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Confirm the transaction and watch the slot move.
	upd := &pgoutput.StandbyStatusUpdate{WALWrite: lastEnd, WALFlush: lastEnd, WALApply: lastEnd, ClientTime: time.Now()}
	repl.Frontend().Send(&pgproto3.CopyData{Data: upd.Append(nil)})
	if err := repl.Frontend().Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := sql.Exec(ctx, `SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 's1'`).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		confirmed, err := pgoutput.ParseLSN(string(r[0].Rows[0][0]))
		if err != nil {
			t.Fatal(err)
		}
		if confirmed == lastEnd {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn = %s, want %s", confirmed, lastEnd)
		}
		// Let the walsender read our reply: receiving also keeps the
		// connection's buffers drained.
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err = repl.ReceiveMessage(rctx)
		cancel()
		if err != nil && !pgconn.Timeout(err) {
			t.Fatal(err)
		}
	}
}

func containsCommitAfterTruncate(got []string) bool {
	for i, s := range got {
		if strings.HasPrefix(s, "Truncate") {
			for _, s2 := range got[i:] {
				if s2 == "Commit" {
					return true
				}
			}
		}
	}
	return false
}

func describe(m pgoutput.Message, rels map[uint32]*pgoutput.Relation) string {
	name := func(id uint32) string {
		if r := rels[id]; r != nil {
			return r.Name
		}
		return fmt.Sprint(id)
	}
	switch m := m.(type) {
	case *pgoutput.Begin, *pgoutput.Commit:
		return m.Type().String()
	case *pgoutput.Relation:
		rels[m.RelationID] = m
		var cols []string
		for _, c := range m.Columns {
			s := fmt.Sprintf("%s:%d", c.Name, c.DataType)
			if c.TypeModifier >= 0 {
				s += fmt.Sprintf(":%d", c.TypeModifier)
			}
			if c.Key() {
				s += ":key"
			}
			cols = append(cols, s)
		}
		return fmt.Sprintf("Relation %s.%s [%s]", m.Namespace, m.Name, strings.Join(cols, " "))
	case *pgoutput.Insert:
		return fmt.Sprintf("Insert %s %s", name(m.RelationID), tuple(m.New))
	case *pgoutput.Update:
		return fmt.Sprintf("Update %s old=%s%s new%s", name(m.RelationID), oldKind(m.OldKind), tuple(m.Old), tuple(m.New))
	case *pgoutput.Delete:
		return fmt.Sprintf("Delete %s old=%s%s", name(m.RelationID), oldKind(m.OldKind), tuple(m.Old))
	case *pgoutput.Truncate:
		var names []string
		for _, id := range m.RelationIDs {
			names = append(names, name(id))
		}
		return fmt.Sprintf("Truncate %v options=%d", names, m.Options)
	case *pgoutput.LogicalMessage:
		return fmt.Sprintf("Message %s transactional=%v %s", m.Prefix, m.Transactional, m.Content)
	default:
		return m.Type().String()
	}
}

func oldKind(k byte) string {
	if k == 0 {
		return "0"
	}
	return string(k)
}

func tuple(t pgoutput.Tuple) string {
	var parts []string
	for _, c := range t {
		switch c.Kind {
		case pgoutput.TupleText:
			if len(c.Data) > 100 {
				parts = append(parts, fmt.Sprintf("t:(%d bytes)", len(c.Data)))
				break
			}
			parts = append(parts, "t:"+string(c.Data))
		default:
			parts = append(parts, string(c.Kind))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func mustConnect(t *testing.T, dsn string) *pgconn.PgConn {
	t.Helper()
	c, err := pgconn.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func mustExec(t *testing.T, c *pgconn.PgConn, sql string) {
	t.Helper()
	if _, err := c.Exec(t.Context(), sql).ReadAll(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			t.Fatalf("exec: %s (%s)", pgErr.Message, pgErr.Code)
		}
		t.Fatalf("exec: %v", err)
	}
}
