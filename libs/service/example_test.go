package service_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/service"
)

// A service's main reads the standard environment, starts the shared
// lifecycle with its own parts and runs until a signal.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := service.ConfigFromEnv(os.Getenv, "cart", service.Defaults{
		HTTPAddr: "127.0.0.1:8089", DatabaseURL: "postgres://cart@127.0.0.1:5432/carts", Group: "cart-service",
	})
	if err != nil {
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	s, err := service.Start(ctx, cfg, service.Spec{
		Name:       "cart",
		Migrations: fstest.MapFS{}, // the service's embedded migrations
		Topics:     []string{"outbox.event.order"},
		Wire: func(pool *pgxpool.Pool) service.Parts {
			return service.Parts{
				Handler: consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
					_, err := tx.Exec(ctx, `INSERT INTO carts (order_id) VALUES ($1)`, ev.Key)
					return err
				}}.Handle,
				Routes: func(e *echo.Echo) { e.GET("/carts/:id", func(c echo.Context) error { return c.NoContent(204) }) },
			}
		},
	}, log)
	if err != nil {
		log.Error("start", "err", err)
		return
	}
	if err := s.Run(ctx, stop); err != nil {
		log.Error("stopped", "err", err)
	}
}
