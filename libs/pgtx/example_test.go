package pgtx_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

// A change is reported only once it is durable: the log line is written
// after the commit, and never for a transaction that rolls back.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		return
	}
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	err = pgtx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 100 WHERE id = $1`, "a-1"); err != nil {
			return err
		}
		pgtx.AfterCommit(tx, func() { log.Info("account charged", "account_id", "a-1") })
		return nil
	})
	if err != nil {
		log.Error("charge failed", "err", err)
	}
}

// A transaction whose BEGIN and lock timeout travel with its first
// statement: it costs one round trip for the UPDATE and one for the COMMIT.
func ExampleDeferred() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		return
	}
	defer pool.Close()
	db := pgtx.Deferred{Pool: pool, Setup: []string{"SET LOCAL lock_timeout = '50ms'"}}
	err = pgtx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 100 WHERE id = $1`, "a-1")
		return err
	})
	if err != nil {
		slog.Error("charge failed", "err", err)
	}
}
