package pgtx_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/pgtx"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// wire watches a pool's connections: it counts round trips (a write after
// a read, or the first write, starts one) and records what pgx sends, a
// statement's SQL or "batch: " and the batch's statements.
type wire struct {
	mu       sync.Mutex
	wrote    bool
	trips    int
	requests []string
}

func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wrote, w.trips, w.requests = false, 0, nil
}

func (w *wire) seen() (trips int, requests []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.trips, w.requests
}

func (w *wire) record(r string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, r)
}

func (w *wire) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	w.record(d.SQL)
	return ctx
}

func (w *wire) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (w *wire) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	var sqls []string
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	w.record("batch: " + strings.Join(sqls, "; "))
	return ctx
}

func (w *wire) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (w *wire) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// counted is a connection whose round trips w counts.
type counted struct {
	net.Conn
	w *wire
}

func (c counted) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	if !c.w.wrote {
		c.w.wrote = true
		c.w.trips++
	}
	c.w.mu.Unlock()
	return c.Conn.Write(p)
}

func (c counted) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.w.mu.Lock()
		c.w.wrote = false
		c.w.mu.Unlock()
	}
	return n, err
}

// newPool returns a pool of one connection on a fresh database with a
// table marks, watched by the returned wire. The connection is never
// pinged, so that nothing but the test talks on it.
func newPool(t *testing.T) (*pgxpool.Pool, *wire) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	cfg.ConnConfig.Tracer = w
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return counted{c, w}, nil
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE marks (name text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return pool, w
}

// marks returns the committed rows of marks, sorted.
func marks(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT name FROM marks ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// backend returns the server process of the pool's connection.
func backend(t *testing.T, pool *pgxpool.Pool) int32 {
	t.Helper()
	var pid int32
	if err := pool.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

const insert = `INSERT INTO marks VALUES ($1)`

func TestDeferredSavesTheBeginRoundTrip(t *testing.T) {
	pool, w := newPool(t)
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, tx pgx.Tx) error // the transaction's work
	}{
		{
			name: "exec",
			run: func(ctx context.Context, tx pgx.Tx) error {
				_, err := tx.Exec(ctx, insert, "a")
				return err
			},
		},
		{
			name: "query",
			run: func(ctx context.Context, tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, `SELECT generate_series(1, $1::int)`, 3)
				_, err := pgx.CollectRows(rows, pgx.RowTo[int32])
				return err
			},
		},
		{
			name: "query row",
			run: func(ctx context.Context, tx pgx.Tx) error {
				var n int32
				return tx.QueryRow(ctx, `SELECT $1::int`, 7).Scan(&n)
			},
		},
		{
			name: "send batch",
			run: func(ctx context.Context, tx pgx.Tx) error {
				b := &pgx.Batch{}
				b.Queue(insert, "a")
				b.Queue(insert, "b")
				return tx.SendBatch(ctx, b).Close()
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// measure runs the transaction twice, so that the connection has
			// prepared its statements, and returns what the second sent.
			measure := func(db pgtx.Beginner) (trips int, requests []string) {
				for range 2 {
					if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
						t.Fatal(err)
					}
					w.reset()
					if err := pgtx.BeginFunc(t.Context(), db, func(tx pgx.Tx) error { return tc.run(t.Context(), tx) }); err != nil {
						t.Fatal(err)
					}
					trips, requests = w.seen()
				}
				return trips, requests
			}
			trips, requests := measure(pool)
			if trips != 3 || len(requests) != 3 || requests[0] != "begin" || requests[2] != "commit" {
				t.Fatalf("through the pool: %d round trips sending %q, want 3: begin, the work, commit", trips, requests)
			}
			wantRequests := []string{"batch: begin; " + strings.TrimPrefix(requests[1], "batch: "), "commit"}
			trips, requests = measure(pgtx.Deferred{Pool: pool})
			if trips != 2 || !slices.Equal(requests, wantRequests) {
				t.Errorf("deferred: %d round trips sending %q, want 2 sending %q", trips, requests, wantRequests)
			}
		})
	}
}

func TestDeferredTransactions(t *testing.T) {
	pool, w := newPool(t)
	commit := func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }
	rollback := func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) }
	for _, tc := range []struct {
		name  string
		work  bool // whether the transaction inserts a row
		end   func(context.Context, pgx.Tx) error
		want  []string // the committed rows
		trips int      // round trips, when the transaction does no work
	}{
		{name: "commit makes the writes durable", work: true, end: commit, want: []string{"a"}},
		{name: "rollback undoes them", work: true, end: rollback},
		{name: "commit of a transaction that did nothing sends nothing", end: commit},
		{name: "rollback of a transaction that did nothing sends nothing", end: rollback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
				t.Fatal(err)
			}
			w.reset()
			tx, err := pgtx.Deferred{Pool: pool}.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := pool.Stat().AcquiredConns(); got != 1 {
				t.Errorf("begun: %d connections acquired, want 1", got)
			}
			if tc.work {
				if _, err := tx.Exec(t.Context(), insert, "a"); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.end(t.Context(), tx); err != nil {
				t.Fatal(err)
			}
			if trips, requests := w.seen(); !tc.work && (trips != 0 || len(requests) != 0) {
				t.Errorf("%d round trips sending %q, want none", trips, requests)
			}
			if got := pool.Stat().AcquiredConns(); got != 0 {
				t.Errorf("ended: %d connections acquired, want 0", got)
			}
			for _, end := range []func(context.Context, pgx.Tx) error{commit, rollback} {
				if err := end(t.Context(), tx); !errors.Is(err, pgx.ErrTxClosed) {
					t.Errorf("ending it again: %v, want %v", err, pgx.ErrTxClosed)
				}
			}
			if _, err := tx.Exec(t.Context(), insert, "b"); !errors.Is(err, pgx.ErrTxClosed) {
				t.Errorf("exec after the end: %v, want %v", err, pgx.ErrTxClosed)
			}
			if got := marks(t, pool); !slices.Equal(got, tc.want) {
				t.Errorf("committed %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("setup statements hold in the transaction only", func(t *testing.T) {
		db := pgtx.Deferred{Pool: pool, Setup: []string{`SET LOCAL lock_timeout = '50ms'`}}
		var inside, after string
		if err := pgx.BeginFunc(t.Context(), db, func(tx pgx.Tx) error {
			return tx.QueryRow(t.Context(), `SHOW lock_timeout`).Scan(&inside)
		}); err != nil {
			t.Fatal(err)
		}
		if err := pool.QueryRow(t.Context(), `SHOW lock_timeout`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if inside != "50ms" || after != "0" {
			t.Errorf("lock_timeout = %q inside, %q after; want 50ms, 0", inside, after)
		}
	})

	t.Run("options set the isolation level and access mode", func(t *testing.T) {
		db := pgtx.Deferred{Pool: pool, Options: pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}}
		tx, err := db.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(t.Context())
		var iso string
		if err := tx.QueryRow(t.Context(), `SHOW transaction_isolation`).Scan(&iso); err != nil {
			t.Fatal(err)
		}
		if iso != "repeatable read" {
			t.Errorf("isolation %q, want repeatable read", iso)
		}
		if _, err := tx.Exec(t.Context(), insert, "a"); sqlState(err) != "25006" {
			t.Errorf("write in a read-only transaction: %v, want SQLSTATE 25006", err)
		}
	})

	t.Run("a first exec without arguments may hold several statements", func(t *testing.T) {
		if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
			t.Fatal(err)
		}
		if err := pgtx.BeginFunc(t.Context(), pgtx.Deferred{Pool: pool}, func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), `INSERT INTO marks VALUES ('a'); INSERT INTO marks VALUES ('b')`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := marks(t, pool); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("committed %q, want a, b", got)
		}
	})
}

func TestDeferredFirstCalls(t *testing.T) {
	pool, _ := newPool(t)
	errStop := errors.New("stop")
	for _, tc := range []struct {
		name string
		// first is the transaction's first call; the transaction must then
		// take an Exec and commit.
		first func(t *testing.T, tx pgx.Tx)
		want  []string // the committed rows
	}{
		{
			name: "exec",
			first: func(t *testing.T, tx pgx.Tx) {
				tag, err := tx.Exec(t.Context(), insert, "a")
				if err != nil || tag.String() != "INSERT 0 1" {
					t.Errorf("exec: %q, %v", tag, err)
				}
			},
			want: []string{"a", "z"},
		},
		{
			name: "exec with a query option",
			first: func(t *testing.T, tx pgx.Tx) {
				if _, err := tx.Exec(t.Context(), insert, pgx.QueryExecModeSimpleProtocol, "a"); err != nil {
					t.Error(err)
				}
			},
			want: []string{"a", "z"},
		},
		{
			name: "send batch runs the callbacks and returns their error",
			first: func(t *testing.T, tx pgx.Tx) {
				var tags []string
				b := &pgx.Batch{}
				b.Queue(insert, "a").Exec(func(ct pgconn.CommandTag) error { tags = append(tags, ct.String()); return nil })
				b.Queue(insert, "b").Exec(func(ct pgconn.CommandTag) error { tags = append(tags, ct.String()); return errStop })
				br := tx.SendBatch(t.Context(), b)
				if br.Tx() != nil {
					t.Error("the batch's results have a transaction of their own")
				}
				if err := br.Close(); !errors.Is(err, errStop) {
					t.Errorf("close: %v, want %v", err, errStop)
				}
				if !slices.Equal(tags, []string{"INSERT 0 1", "INSERT 0 1"}) {
					t.Errorf("callbacks saw %q, want two inserts", tags)
				}
			},
			want: []string{"a", "b", "z"},
		},
		{
			name: "query returns the rows",
			first: func(t *testing.T, tx pgx.Tx) {
				rows, err := tx.Query(t.Context(), `SELECT generate_series(1, $1::int)`, 3)
				if err != nil {
					t.Fatal(err)
				}
				// Read to the end, which closes them, as pgx's rows.
				var got []int32
				for rows.Next() {
					var n int32
					if err := rows.Scan(&n); err != nil {
						t.Fatal(err)
					}
					got = append(got, n)
				}
				if err := rows.Err(); err != nil || !slices.Equal(got, []int32{1, 2, 3}) {
					t.Errorf("rows %v, %v; want 1, 2, 3", got, err)
				}
			},
			want: []string{"z"},
		},
		{
			name: "query closed before its last row",
			first: func(t *testing.T, tx pgx.Tx) {
				rows, err := tx.Query(t.Context(), `SELECT generate_series(1, $1::int)`, 3)
				if err != nil {
					t.Fatal(err)
				}
				if !rows.Next() {
					t.Fatal(rows.Err())
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					t.Error(err)
				}
			},
			want: []string{"z"},
		},
		{
			name: "query row scans the row",
			first: func(t *testing.T, tx pgx.Tx) {
				var n int32
				if err := tx.QueryRow(t.Context(), `SELECT $1::int`, 7).Scan(&n); err != nil || n != 7 {
					t.Errorf("scan: %d, %v; want 7", n, err)
				}
			},
			want: []string{"z"},
		},
		{
			name: "query row of no row",
			first: func(t *testing.T, tx pgx.Tx) {
				var n int32
				if err := tx.QueryRow(t.Context(), `SELECT $1::int WHERE false`, 7).Scan(&n); !errors.Is(err, pgx.ErrNoRows) {
					t.Errorf("scan: %v, want %v", err, pgx.ErrNoRows)
				}
			},
			want: []string{"z"},
		},
		{
			name: "copy from",
			first: func(t *testing.T, tx pgx.Tx) {
				n, err := tx.CopyFrom(t.Context(), pgx.Identifier{"marks"}, []string{"name"}, pgx.CopyFromRows([][]any{{"a"}, {"b"}}))
				if err != nil || n != 2 {
					t.Errorf("copy: %d, %v; want 2", n, err)
				}
			},
			want: []string{"a", "b", "z"},
		},
		{
			name: "prepare",
			first: func(t *testing.T, tx pgx.Tx) {
				if _, err := tx.Prepare(t.Context(), "ins", insert); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(t.Context(), "ins", "a"); err != nil {
					t.Error(err)
				}
				if _, err := tx.Conn().Exec(t.Context(), `DEALLOCATE ins`); err != nil {
					t.Error(err)
				}
			},
			want: []string{"a", "z"},
		},
		{
			name: "large objects",
			first: func(t *testing.T, tx pgx.Tx) {
				los := tx.LargeObjects()
				oid, err := los.Create(t.Context(), 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := los.Unlink(t.Context(), oid); err != nil {
					t.Error(err)
				}
			},
			want: []string{"z"},
		},
		{
			name: "savepoint",
			first: func(t *testing.T, tx pgx.Tx) {
				for _, name := range []string{"a", "b"} {
					sp, err := tx.Begin(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if _, err := sp.Exec(t.Context(), insert, name); err != nil {
						t.Fatal(err)
					}
					end := sp.Commit
					if name == "b" {
						end = sp.Rollback
					}
					if err := end(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []string{"a", "z"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
				t.Fatal(err)
			}
			tx, err := pgtx.Deferred{Pool: pool}.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(t.Context())
			tc.first(t, tx)
			if _, err := tx.Exec(t.Context(), insert, "z"); err != nil {
				t.Fatalf("exec after the first call: %v", err)
			}
			if err := tx.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := marks(t, pool); !slices.Equal(got, tc.want) {
				t.Errorf("committed %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeferredFailures(t *testing.T) {
	pool, _ := newPool(t)
	for _, tc := range []struct {
		name  string
		setup []string
		first string // the first statement, an insert of "b" ($1)
		code  string // its SQLSTATE
		// next is the error of the statement after it, and commit the
		// error of the commit: as pgx's for a transaction in the failed
		// state, but for begin statements that cannot even be prepared.
		next   func(error) bool
		commit error
	}{
		{
			name:   "a unique violation",
			first:  insert,
			code:   "23505",
			next:   func(err error) bool { return sqlState(err) == "25P02" },
			commit: pgx.ErrTxCommitRollback,
		},
		{
			name:   "a statement that cannot be prepared",
			first:  `INSERT INTO no_such_table VALUES ($1)`,
			code:   "42P01",
			next:   func(err error) bool { return sqlState(err) == "25P02" },
			commit: pgx.ErrTxCommitRollback,
		},
		{
			name:   "a failing begin statement",
			setup:  []string{`SET LOCAL no_such_setting = 1`},
			first:  insert,
			code:   "42704",
			next:   func(err error) bool { return sqlState(err) == "25P02" },
			commit: pgx.ErrTxCommitRollback,
		},
		{
			name:   "a begin statement that cannot be prepared",
			setup:  []string{`SET LOCAL lock_timeout TO`},
			first:  insert,
			code:   "42601",
			next:   func(err error) bool { return errors.Is(err, pgx.ErrTxClosed) },
			commit: pgx.ErrTxClosed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pool.Exec(t.Context(), `TRUNCATE marks; INSERT INTO marks VALUES ('a')`); err != nil {
				t.Fatal(err)
			}
			pid := backend(t, pool)
			tx, err := pgtx.Deferred{Pool: pool, Setup: tc.setup}.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			name := "b"
			if tc.code == "23505" {
				name = "a"
			}
			if _, err := tx.Exec(t.Context(), tc.first, name); sqlState(err) != tc.code {
				t.Errorf("first statement: %v, want SQLSTATE %s", err, tc.code)
			}
			if _, err := tx.Exec(t.Context(), insert, "c"); !tc.next(err) {
				t.Errorf("next statement: %v", err)
			}
			if err := tx.Commit(t.Context()); !errors.Is(err, tc.commit) {
				t.Errorf("commit: %v, want %v", err, tc.commit)
			}
			if got := pool.Stat().AcquiredConns(); got != 0 {
				t.Errorf("%d connections acquired after the commit, want 0", got)
			}
			if got := backend(t, pool); got != pid {
				t.Errorf("the pool's connection is a new one (backend %d, was %d)", got, pid)
			}
			if got := marks(t, pool); !slices.Equal(got, []string{"a"}) {
				t.Errorf("committed %q, want only a", got)
			}
		})
	}

	t.Run("a commit that fails on the wire", func(t *testing.T) {
		if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
			t.Fatal(err)
		}
		pid := backend(t, pool)
		tx, err := pgtx.Deferred{Pool: pool}.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(t.Context(), insert, "a"); err != nil {
			t.Fatal(err)
		}
		canceled, cancel := context.WithCancel(t.Context())
		cancel()
		if err := tx.Commit(canceled); !errors.Is(err, context.Canceled) {
			t.Errorf("commit: %v, want %v", err, context.Canceled)
		}
		// The connection, still in the transaction, was closed, not pooled
		// (the pool destroys it in the background: backend waits for that).
		if got := backend(t, pool); got == pid {
			t.Errorf("the pool kept the connection (backend %d)", got)
		}
		if got := pool.Stat().AcquiredConns(); got != 0 {
			t.Errorf("%d connections acquired after the commit, want 0", got)
		}
		if got := marks(t, pool); len(got) != 0 {
			t.Errorf("committed %q, want nothing", got)
		}
	})

	t.Run("a batch that begins a transaction itself", func(t *testing.T) {
		tx, err := pgtx.Deferred{Pool: pool}.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(t.Context())
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(insert, "b")
		if err := tx.SendBatch(t.Context(), b).Close(); err == nil {
			t.Error("sent")
		}
	})
}
