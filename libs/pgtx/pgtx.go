package pgtx

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Beginner begins a transaction: a *pgxpool.Pool, a *pgx.Conn and a
// pgx.Tx (for a savepoint) all are.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Begin begins a transaction on db whose Commit runs the functions
// registered with AfterCommit.
func Begin(ctx context.Context, db Beginner) (pgx.Tx, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := tx.(*hookedTx); ok {
		// db is one of ours: its Begin already nested the savepoint.
		return t, nil
	}
	return &hookedTx{Tx: tx}, nil
}

// BeginFunc is pgx.BeginFunc on a transaction begun by Begin: it calls fn
// in a transaction on db and commits it when fn returns nil (running the
// functions registered with AfterCommit), or rolls it back.
func BeginFunc(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, hooking{db}, fn)
}

// hooking is db beginning transactions through Begin.
type hooking struct{ db Beginner }

func (h hooking) Begin(ctx context.Context) (pgx.Tx, error) { return Begin(ctx, h.db) }

// AfterCommit registers fn to run once tx has committed (see the package
// documentation). It reports false, and registers nothing, when tx was not
// begun by Begin (or nested in a transaction that was).
func AfterCommit(tx pgx.Tx, fn func()) bool {
	t, ok := tx.(*hookedTx)
	if !ok {
		return false
	}
	t.after = append(t.after, fn)
	return true
}

// hookedTx is a pgx.Tx that runs functions after it commits. A nested one
// (a savepoint) has a parent to hand them to.
type hookedTx struct {
	pgx.Tx
	parent *hookedTx
	after  []func()
}

var _ pgx.Tx = (*hookedTx)(nil)

// Begin starts a savepoint whose functions pass to t when it is released.
func (t *hookedTx) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &hookedTx{Tx: tx, parent: t}, nil
}

// Commit commits (or releases the savepoint), then runs the registered
// functions (or hands them to the parent) if that succeeded.
func (t *hookedTx) Commit(ctx context.Context) error {
	fns := t.after
	t.after = nil
	if err := t.Tx.Commit(ctx); err != nil {
		return err
	}
	if t.parent != nil {
		t.parent.after = append(t.parent.after, fns...)
		return nil
	}
	for _, fn := range fns {
		fn()
	}
	return nil
}

// Rollback drops the registered functions and rolls back.
func (t *hookedTx) Rollback(ctx context.Context) error {
	t.after = nil
	return t.Tx.Rollback(ctx)
}
