package replication_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func exec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := c.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func TestCheckServer(t *testing.T) {
	conn := connect(t, pgtest.NewDatabase(t))
	v, err := replication.CheckServer(t.Context(), conn)
	if err != nil {
		t.Fatalf("CheckServer on a logical server: %v", err)
	}
	if v < replication.MinServerVersion {
		t.Fatalf("version %d", v)
	}

	// A server without logical decoding is refused with a clear reason.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Config{Settings: map[string]string{"wal_level": "replica"}})
	if err != nil {
		t.Fatalf("start second cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	conn2 := connect(t, c.DSN("postgres"))
	_, err = replication.CheckServer(t.Context(), conn2)
	if !errors.Is(err, replication.ErrServer) || !strings.Contains(err.Error(), `wal_level is "replica"`) {
		t.Fatalf("CheckServer on wal_level=replica: %v", err)
	}
}

func TestEnsurePublication(t *testing.T) {
	ctx := t.Context()
	conn := connect(t, pgtest.NewDatabase(t))
	exec(t, conn, `CREATE SCHEMA app; CREATE TABLE app.outbox (id int PRIMARY KEY); CREATE TABLE app.other (id int); CREATE TABLE public."Mixed" (id int)`)
	tables, err := replication.Tables(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]replication.Table{}
	for _, tb := range tables {
		names = append(names, tb.String())
		byName[tb.String()] = tb
	}
	if want := []string{"app.other", "app.outbox", "public.Mixed"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("Tables = %v, want %v", names, want)
	}

	pubTables := func(name string) []string {
		rows, _ := conn.Query(ctx, `SELECT schemaname||'.'||tablename FROM pg_publication_tables WHERE pubname=$1 ORDER BY 1`, name)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	steps := []struct {
		name       string
		spec       replication.PublicationSpec
		wantDid    string
		wantErr    error
		wantTables []string
	}{
		{"disabled and missing", replication.PublicationSpec{Name: "p1", Mode: replication.PublicationDisabled}, "", replication.ErrPublication, nil},
		{"filtered creates", replication.PublicationSpec{Name: "p1", Mode: replication.PublicationFiltered, Tables: []replication.Table{byName["app.outbox"]}},
			`created FOR TABLE "app"."outbox"`, nil, []string{"app.outbox"}},
		{"filtered unchanged", replication.PublicationSpec{Name: "p1", Mode: replication.PublicationFiltered, Tables: []replication.Table{byName["app.outbox"]}},
			"", nil, []string{"app.outbox"}},
		{"filtered list changed", replication.PublicationSpec{Name: "p1", Mode: replication.PublicationFiltered, Tables: []replication.Table{byName["app.outbox"], byName["public.Mixed"]}},
			`set tables to "app"."outbox", "public"."Mixed"`, nil, []string{"app.outbox", "public.Mixed"}},
		{"disabled and present", replication.PublicationSpec{Name: "p1", Mode: replication.PublicationDisabled}, "", nil, []string{"app.outbox", "public.Mixed"}},
		{"filtered without tables", replication.PublicationSpec{Name: "p2", Mode: replication.PublicationFiltered}, "", replication.ErrPublication, nil},
		{"all tables", replication.PublicationSpec{Name: "p3", Mode: replication.PublicationAllTables}, "created FOR ALL TABLES", nil, []string{"app.other", "app.outbox", "public.Mixed"}},
		{"filtered on an all-tables publication", replication.PublicationSpec{Name: "p3", Mode: replication.PublicationFiltered, Tables: tables[:1]}, "", replication.ErrPublication, nil},
		{"no tables", replication.PublicationSpec{Name: "p4", Mode: replication.PublicationNoTables}, "created without tables", nil, nil},
	}
	for _, st := range steps {
		did, err := replication.EnsurePublication(ctx, conn, st.spec)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.wantErr)
		}
		if did != st.wantDid {
			t.Fatalf("%s: did %q, want %q", st.name, did, st.wantDid)
		}
		if st.wantErr == nil {
			if got := pubTables(st.spec.Name); strings.Join(got, ",") != strings.Join(st.wantTables, ",") {
				t.Fatalf("%s: publication tables %v, want %v", st.name, got, st.wantTables)
			}
		}
	}

	// publish parameter.
	if _, err := replication.EnsurePublication(ctx, conn, replication.PublicationSpec{
		Name: "p5", Mode: replication.PublicationFiltered, Tables: []replication.Table{byName["app.outbox"]}, Publish: "insert",
	}); err != nil {
		t.Fatal(err)
	}
	var ins, upd bool
	if err := conn.QueryRow(ctx, `SELECT pubinsert, pubupdate FROM pg_publication WHERE pubname = 'p5'`).Scan(&ins, &upd); err != nil {
		t.Fatal(err)
	}
	if !ins || upd {
		t.Fatalf("publish=insert gave pubinsert=%v pubupdate=%v", ins, upd)
	}
}

func TestCatalog(t *testing.T) {
	ctx := t.Context()
	conn := connect(t, pgtest.NewDatabase(t))
	exec(t, conn, `
CREATE DOMAIN short_text AS varchar(20);
CREATE DOMAIN shorter AS short_text NOT NULL;
CREATE DOMAIN amount AS numeric;
CREATE TABLE t (
  a int,
  b text NOT NULL,
  dropped int,
  c shorter,
  d amount,
  e timestamp(3) NOT NULL,
  g int GENERATED ALWAYS AS (a * 2) STORED,
  PRIMARY KEY (b, a)
);
ALTER TABLE t DROP COLUMN dropped;
CREATE TABLE nopk (x int, y text);`)
	var oid, nopk uint32
	if err := conn.QueryRow(ctx, `SELECT 't'::regclass::oid, 'nopk'::regclass::oid`).Scan(&oid, &nopk); err != nil {
		t.Fatal(err)
	}
	cat := replication.NewCatalog(conn)
	got, err := cat.TableColumns(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	want := []replication.Column{
		{Name: "a", TypeOID: 23, TypeMod: -1, NotNull: true, Key: true},
		{Name: "b", TypeOID: 25, TypeMod: -1, NotNull: true, Key: true},
		{Name: "c", TypeOID: 1043, TypeMod: 24},
		{Name: "d", TypeOID: 1700, TypeMod: -1},
		{Name: "e", TypeOID: 1114, TypeMod: 3, NotNull: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TableColumns =\n%+v\nwant\n%+v", got, want)
	}

	// A Relation message: order from the message, facts from the catalog;
	// a column unknown to the catalog keeps the message's facts.
	rel := &pgoutput.Relation{RelationID: oid, Namespace: "public", Name: "t", Columns: []pgoutput.RelationColumn{
		{Name: "e", DataType: 1114, TypeModifier: 3},
		{Flags: 1, Name: "a", DataType: 23, TypeModifier: -1},
		{Name: "gone", DataType: 25, TypeModifier: -1},
	}}
	gotRel, err := cat.RelationColumns(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	wantRel := []replication.Column{
		{Name: "e", TypeOID: 1114, TypeMod: 3, NotNull: true},
		{Name: "a", TypeOID: 23, TypeMod: -1, NotNull: true, Key: true},
		{Name: "gone", TypeOID: 25, TypeMod: -1},
	}
	if !reflect.DeepEqual(gotRel, wantRel) {
		t.Fatalf("RelationColumns =\n%+v\nwant\n%+v", gotRel, wantRel)
	}

	// Without a primary key the replica identity flags from the stream
	// mark the key.
	gotNoPK, err := cat.RelationColumns(ctx, &pgoutput.Relation{RelationID: nopk, Columns: []pgoutput.RelationColumn{
		{Flags: 1, Name: "x", DataType: 23, TypeModifier: -1},
		{Name: "y", DataType: 25, TypeModifier: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !gotNoPK[0].Key || gotNoPK[1].Key {
		t.Fatalf("replica identity keys: %+v", gotNoPK)
	}
}

// TestSnapshotThenStream exports a snapshot at slot creation, reads the
// existing rows from it, then streams what was written after, confirms it
// and sees the slot move.
func TestSnapshotThenStream(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	exec(t, conn, `
CREATE TABLE outbox (id int PRIMARY KEY, payload jsonb, data bytea, note text);
INSERT INTO outbox VALUES (1, '{"b": 1, "a": 2}', '\x0102', NULL), (2, NULL, NULL, 'x');
CREATE PUBLICATION pub FOR TABLE outbox;`)
	tables, err := replication.Tables(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}

	if _, ok, err := replication.SlotState(ctx, conn, "s"); err != nil || ok {
		t.Fatalf("SlotState before create: ok=%v err=%v", ok, err)
	}
	rc, err := replication.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	sys, err := rc.IdentifySystem(ctx)
	if err != nil || sys.DBName == "" || sys.XLogPos == 0 {
		t.Fatalf("IdentifySystem = %+v, %v", sys, err)
	}
	created, err := rc.CreateSlot(ctx, "s", true)
	if err != nil {
		t.Fatal(err)
	}
	if created.Name != "s" || created.SnapshotName == "" || created.ConsistentPoint == 0 {
		t.Fatalf("CreateSlot = %+v", created)
	}

	// Rows written now are not in the snapshot; they arrive by streaming.
	exec(t, conn, `INSERT INTO outbox VALUES (3, '{"c": 3}', NULL, NULL)`)

	snapConn := connect(t, dsn)
	var got []string
	err = replication.ReadSnapshot(ctx, snapConn, replication.NewCatalog(snapConn), created.SnapshotName, tables, func(r replication.Row) error {
		var parts []string
		for i, v := range r.Values {
			s := "NULL"
			if v != nil {
				s = string(v)
			}
			parts = append(parts, r.Columns[i].Name+"="+s)
		}
		got = append(got, r.Table.String()+" "+strings.Join(parts, " "))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`public.outbox id=1 payload={"a": 2, "b": 1} data=\x0102 note=NULL`,
		`public.outbox id=2 payload=NULL data=NULL note=x`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot rows:\n%q\nwant\n%q", got, want)
	}

	slot, ok, err := replication.SlotState(ctx, conn, "s")
	if err != nil || !ok {
		t.Fatalf("SlotState: ok=%v err=%v", ok, err)
	}
	if slot.Plugin != "pgoutput" || !slot.Logical || slot.ConfirmedFlush != created.ConsistentPoint {
		t.Fatalf("slot = %+v, want pgoutput at %s", slot, created.ConsistentPoint)
	}

	if err := rc.Start(ctx, "s", slot.ConfirmedFlush, replication.StartOptions{Publication: "pub", Messages: true}); err != nil {
		t.Fatal(err)
	}
	var inserted string
	var commitEnd pgoutput.LSN
	deadline := time.Now().Add(30 * time.Second)
	for commitEnd == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no commit streamed")
		}
		m, err := rc.Receive(200 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		x, ok := m.(*pgoutput.XLogData)
		if !ok {
			continue
		}
		msg, err := pgoutput.Parse(x.Data)
		if err != nil {
			t.Fatal(err)
		}
		switch msg := msg.(type) {
		case *pgoutput.Insert:
			inserted = string(msg.New[0].Data)
		case *pgoutput.Commit:
			commitEnd = msg.TransactionEndLSN
		}
	}
	if inserted != "3" {
		t.Fatalf("streamed insert id %q, want 3", inserted)
	}

	// Nothing more to read: Receive times out quietly (keepalives aside).
	for range 3 {
		m, err := rc.Receive(50 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*pgoutput.XLogData); ok {
			t.Fatalf("unexpected data %+v", m)
		}
	}

	if err := rc.SendStatus(commitEnd, commitEnd, false); err != nil {
		t.Fatal(err)
	}
	for {
		slot, _, err = replication.SlotState(ctx, conn, "s")
		if err != nil {
			t.Fatal(err)
		}
		if slot.ConfirmedFlush == commitEnd {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmed %s, want %s", slot.ConfirmedFlush, commitEnd)
		}
		if _, err := rc.Receive(50 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if !slot.Active {
		t.Fatal("slot not active while streaming")
	}

	// The stream ends when the server terminates the walsender.
	exec(t, conn, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 's'`)
	for {
		_, err := rc.Receive(time.Second)
		if err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
				t.Fatalf("error code %s, want 57P01: %v", pgErr.Code, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stream did not end")
		}
	}
}

func TestStartUnknownSlot(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	rc, err := replication.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	err = rc.Start(t.Context(), "missing", 0, replication.StartOptions{Publication: "p"})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42704" {
		t.Fatalf("Start on a missing slot: %v, want SQLSTATE 42704", err)
	}
	if _, err := rc.Receive(time.Millisecond); err == nil {
		t.Fatal("Receive before a successful Start succeeded")
	}
}

func TestDropSlot(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	rc, err := replication.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.CreateSlot(t.Context(), "gone", false); err != nil {
		t.Fatal(err)
	}
	_ = rc.Close(t.Context())
	// The walsender may still hold the slot for a moment after close;
	// DropSlot waits for it.
	if err := replication.DropSlot(t.Context(), conn, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := replication.DropSlot(t.Context(), conn, "gone"); err != nil {
		t.Fatalf("dropping a missing slot: %v", err)
	}
	if _, ok, err := replication.SlotState(t.Context(), conn, "gone"); ok || err != nil {
		t.Fatalf("slot still there: ok=%v err=%v", ok, err)
	}
}

// TestStreamBacklogInBatches streams a backlog of single-row transactions
// with batched reads on and checks that every row arrives once, in commit
// order, with its own values (messages alias the connection's buffer
// until the next Receive).
func TestStreamBacklogInBatches(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	exec(t, conn, `CREATE TABLE outbox (id int PRIMARY KEY, note text); CREATE PUBLICATION pub FOR TABLE outbox`)
	rc, err := replication.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())
	created, err := rc.CreateSlot(ctx, "backlog", false)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 500
	for i := 1; i <= rows; i++ {
		exec(t, conn, `INSERT INTO outbox VALUES ($1, repeat('x', $1))`, i)
	}
	rc.CatchUpPause(time.Millisecond)
	if err := rc.Start(ctx, "backlog", created.ConsistentPoint, replication.StartOptions{Publication: "pub"}); err != nil {
		t.Fatal(err)
	}
	var dec pgoutput.Decoder
	next := 1
	deadline := time.Now().Add(30 * time.Second)
	for next <= rows {
		if time.Now().After(deadline) {
			t.Fatalf("streamed %d of %d rows", next-1, rows)
		}
		m, err := rc.Receive(200 * time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		x, ok := m.(*pgoutput.XLogData)
		if !ok {
			continue
		}
		msg, err := dec.Decode(x.Data)
		if err != nil {
			t.Fatal(err)
		}
		ins, ok := msg.(*pgoutput.Insert)
		if !ok {
			continue
		}
		id, note := string(ins.New[0].Data), string(ins.New[1].Data)
		if id != strconv.Itoa(next) || note != strings.Repeat("x", next) {
			t.Fatalf("row %d arrived as id %q with a %d-byte note", next, id, len(note))
		}
		next++
	}
}
