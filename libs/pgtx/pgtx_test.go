package pgtx_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/pgtx"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestAfterCommitRunsOnlyOnceCommitted(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE marks (name text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errAbandon := errors.New("abandon")
	beginners := []struct {
		name string
		db   pgtx.Beginner
	}{
		{"pool", pool},
		{"deferred", pgtx.Deferred{Pool: pool}},
	}
	for _, tc := range []struct {
		name string
		// run works in a transaction on db; note(tx, name) registers a
		// function recording name after the commit, and inserts name as a
		// row.
		run  func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error
		want []string // functions run, in order; the rows must be these too
		err  error    // run's error, if any
	}{
		{
			name: "commit runs them in order",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				return pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					note(tx, "a")
					note(tx, "b")
					return nil
				})
			},
			want: []string{"a", "b"},
		},
		{
			name: "rollback drops them",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				return pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					note(tx, "a")
					return errAbandon
				})
			},
			err: errAbandon,
		},
		{
			name: "a failed transaction's commit drops them",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				tx, err := pgtx.Begin(ctx, db)
				if err != nil {
					return err
				}
				defer tx.Rollback(ctx)
				note(tx, "a")
				if _, err := tx.Exec(ctx, `SELECT 1/0`); err == nil {
					return errors.New("division by zero succeeded")
				}
				return tx.Commit(ctx)
			},
			err: pgx.ErrTxCommitRollback,
		},
		{
			name: "a released savepoint's run with the outer commit",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				return pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					note(tx, "outer")
					return pgtx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
						note(sp, "inner")
						return nil
					})
				})
			},
			want: []string{"outer", "inner"},
		},
		{
			name: "a rolled back savepoint's are dropped, the outer ones run",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				return pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					note(tx, "outer")
					if err := pgtx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
						note(sp, "inner")
						return errAbandon
					}); !errors.Is(err, errAbandon) {
						return err
					}
					return nil
				})
			},
			want: []string{"outer"},
		},
		{
			name: "a released savepoint's are dropped when the outer one rolls back",
			run: func(ctx context.Context, db pgtx.Beginner, note func(pgx.Tx, string)) error {
				return pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					if err := pgtx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
						note(sp, "inner")
						return nil
					}); err != nil {
						return err
					}
					return errAbandon
				})
			},
			err: errAbandon,
		},
	} {
		for _, db := range beginners {
			t.Run(db.name+"/"+tc.name, func(t *testing.T) {
				if _, err := pool.Exec(t.Context(), `TRUNCATE marks`); err != nil {
					t.Fatal(err)
				}
				var ran []string
				note := func(tx pgx.Tx, name string) {
					if _, err := tx.Exec(t.Context(), `INSERT INTO marks VALUES ($1)`, name); err != nil {
						t.Errorf("insert %s: %v", name, err)
					}
					if !pgtx.AfterCommit(tx, func() { ran = append(ran, name) }) {
						t.Errorf("AfterCommit(%s) = false on a transaction of Begin", name)
					}
				}
				if err := tc.run(t.Context(), db.db, note); !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if !slices.Equal(ran, tc.want) {
					t.Errorf("ran %q, want %q", ran, tc.want)
				}
				rows, err := pool.Query(t.Context(), `SELECT name FROM marks`)
				if err != nil {
					t.Fatal(err)
				}
				committed, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					t.Fatal(err)
				}
				if slices.Sort(committed); !slices.Equal(committed, slices.Sorted(slices.Values(tc.want))) {
					t.Errorf("committed rows %q, want exactly those whose functions ran", committed)
				}
			})
		}
	}

	t.Run("a transaction pgtx did not begin takes none", func(t *testing.T) {
		tx, err := pool.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(t.Context())
		if pgtx.AfterCommit(tx, func() { t.Error("ran") }) {
			t.Fatal("AfterCommit = true on a plain pgx transaction")
		}
		if err := tx.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
