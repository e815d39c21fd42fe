package consumer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

// A service routes event types to handlers that write through the given
// transaction; Run blocks until the context is canceled.
func Example() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	pool, err := pgxpool.New(ctx, "postgres://localhost/payment")
	if err != nil {
		return
	}
	defer pool.Close()

	onOrderCreated := func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		if len(ev.Payload) == 0 {
			return consumer.Permanent(errors.New("empty payload"))
		}
		_, err := tx.Exec(ctx, `INSERT INTO payments (order_id, status) VALUES ($1, 'pending')`, ev.Key)
		return err
	}
	mux := consumer.Mux{"OrderCreated": onOrderCreated}
	c, err := consumer.New(consumer.Config{
		Brokers: []string{"127.0.0.1:9092"},
		Group:   "payment",
		Topics:  []string{"outbox.event.order"},
		Pool:    pool,
		Handler: mux.Handle,
		Types:   mux.Types(), // other types need no transaction
		Logger:  log,
	})
	if err != nil {
		log.Error("consumer config", "error", err)
		return
	}
	if err := c.Run(ctx); err != nil {
		log.Error("consumer", "error", err)
	}
}
