package migrationtest

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/internal/failures"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migrations returns an init migration creating widgets plus the given
// outbox DDL and the library's inbox, published for CDC, and a down
// migration running down.
func migrations(outboxDDL, down string) fstest.MapFS {
	up := "CREATE TABLE widgets (id int PRIMARY KEY);\n" + outboxDDL + ";\n" + inbox.Schema +
		";\nCREATE PUBLICATION outbox_publication FOR TABLE outbox;\n"
	return fstest.MapFS{
		"000001_init.up.sql":   {Data: []byte(up)},
		"000001_init.down.sql": {Data: []byte(down)},
	}
}

const fullDown = `DROP PUBLICATION outbox_publication; DROP TABLE inbox; DROP TABLE outbox; DROP TABLE widgets;`

var good = migrations(outbox.Schema, fullDown)

var goodSchema = Schema{
	Tables:       []string{"widgets", "outbox", "inbox"},
	Publications: map[string][]string{"outbox_publication": {"outbox"}},
}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		migrations fstest.MapFS
		want       Schema
		fails      string // "" when the helper must pass
	}{
		{"complete", good, goodSchema, ""},
		{"tables in another order", good, Schema{Tables: []string{"inbox", "outbox", "widgets"},
			Publications: map[string][]string{"outbox_publication": {"outbox"}}}, ""},
		{"down leaves a table", migrations(outbox.Schema, `DROP PUBLICATION outbox_publication; DROP TABLE inbox; DROP TABLE outbox;`),
			goodSchema, "after down: tables [widgets]"},
		{"down leaves the publication", migrations(outbox.Schema, `DROP TABLE inbox; DROP TABLE outbox; DROP TABLE widgets;`),
			goodSchema, "after down"},
		{"a table the test does not expect", good, Schema{Tables: []string{"outbox", "inbox"},
			Publications: map[string][]string{"outbox_publication": {"outbox"}}}, "after up: tables [inbox outbox widgets]"},
		{"publication missing from the expectation", good, Schema{Tables: goodSchema.Tables}, "after up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := failures.Of(t, func(tb testing.TB) { UpDownUp(tb, tt.migrations, tt.want) })
			if tt.fails == "" && got != "" {
				t.Fatalf("UpDownUp failed: %s", got)
			}
			if tt.fails != "" && !strings.Contains(got, tt.fails) {
				t.Fatalf("UpDownUp reported %q, want a failure saying %q", got, tt.fails)
			}
		})
	}
}

func TestLibraryTablesMatch(t *testing.T) {
	t.Parallel()
	drifted := strings.Replace(outbox.Schema, "varchar(55)", "varchar(64)", 1)
	if drifted == outbox.Schema {
		t.Fatal("the library's outbox DDL changed; adjust the drift this test makes")
	}
	tests := []struct {
		name       string
		migrations fstest.MapFS
		fails      string
	}{
		{"copies of the library DDL", good, ""},
		{"drifted outbox", migrations(drifted, fullDown), "outbox columns differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := failures.Of(t, func(tb testing.TB) { LibraryTablesMatch(tb, tt.migrations) })
			if tt.fails == "" && got != "" {
				t.Fatalf("LibraryTablesMatch failed: %s", got)
			}
			if tt.fails != "" && !strings.Contains(got, tt.fails) {
				t.Fatalf("LibraryTablesMatch reported %q, want a failure saying %q", got, tt.fails)
			}
		})
	}
}

func TestPool(t *testing.T) {
	t.Parallel()
	pool := Pool(t, good)
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM widgets`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("widgets: %d, %v; want an empty, migrated table", n, err)
	}
	if got := failures.Of(t, func(tb testing.TB) { Pool(tb, fstest.MapFS{}) }); !strings.Contains(got, "migrationtest") {
		t.Fatalf("Pool without migrations reported %q, want a failure", got)
	}
}

func TestCountedPool(t *testing.T) {
	t.Parallel()
	pool, trips := CountedPool(t, good)
	if _, err := pool.Exec(t.Context(), `SELECT count(*) FROM widgets`); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT 1`)
	b.Queue(`SELECT 2`)
	if err := pool.SendBatch(t.Context(), b).Close(); err != nil {
		t.Fatal(err)
	}
	if q, n := trips.Queries.Load(), trips.Batches.Load(); q != 1 || n != 1 {
		t.Fatalf("counted %d statements and %d batches, want 1 and 1", q, n)
	}
}

func TestSchemaEqual(t *testing.T) {
	pub := func(tables ...string) map[string][]string { return map[string][]string{"p": tables} }
	tests := []struct {
		name string
		a, b Schema
		want bool
	}{
		{"empty and zero", Schema{}, Schema{Tables: []string{}, Publications: map[string][]string{}}, true},
		{"order does not matter", Schema{Tables: []string{"a", "b"}, Publications: pub("x", "y")},
			Schema{Tables: []string{"b", "a"}, Publications: pub("y", "x")}, true},
		{"extra table", Schema{Tables: []string{"a"}}, Schema{Tables: []string{"a", "b"}}, false},
		{"other publication", Schema{Publications: pub("x")}, Schema{Publications: map[string][]string{"q": {"x"}}}, false},
		{"publication table differs", Schema{Publications: pub("x")}, Schema{Publications: pub("y")}, false},
		{"publication missing", Schema{Publications: pub("x")}, Schema{}, false},
		{"empty publication left over", Schema{Publications: pub()}, Schema{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.equal(tt.b); got != tt.want {
				t.Fatalf("%v equal %v = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := tt.b.equal(tt.a); got != tt.want {
				t.Fatalf("%v equal %v = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
