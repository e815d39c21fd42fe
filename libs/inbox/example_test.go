package inbox_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
)

// Apply an event's effects once per consumer group: claim it and write the
// effects in one transaction.
func ExampleClaim() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/payment")
	if err != nil {
		return
	}
	defer pool.Close()
	_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		claimed, err := inbox.Claim(ctx, tx, inbox.DefaultTable, "payment", "0199a3c2-5a1e-7c3d-9b1f-2f6f0e1d4c3b",
			inbox.Meta{Topic: "outbox.event.order", Partition: 0, Offset: 17, EventType: "OrderCreated"})
		if err != nil || !claimed {
			return err // a duplicate commits nothing
		}
		_, err = tx.Exec(ctx, `INSERT INTO payments (order_id) VALUES ($1)`, "o-1")
		return err
	})
}
