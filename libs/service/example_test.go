package service_test

import (
	"context"
	"log/slog"
	"os"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/libs/service"
)

// A service's app package builds it step by step: open and migrate its
// database, build its adapters on the pool, then serve. Its main reads the
// environment, starts it and runs until a signal.
func Example() {
	program.Main("cart", func(ctx context.Context, release context.CancelFunc) error {
		cfg, err := service.ConfigFromEnv(os.Getenv, "cart", service.Defaults{
			HTTPAddr: "127.0.0.1:8089", DatabaseURL: "postgres://cart@127.0.0.1:5432/carts", Group: "cart-service",
		})
		if err != nil {
			return err
		}
		log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))

		pool, err := service.Open(ctx, "cart", cfg, fstest.MapFS{ /* the service's embedded migrations */ }, log)
		if err != nil {
			return err
		}
		reg := service.NewRegistry()
		mux := consumer.Mux{"OrderCreated": func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
			_, err := tx.Exec(ctx, `INSERT INTO carts (order_id) VALUES ($1)`, ev.Key)
			return err
		}}
		cc := cfg.Consumer(pool, log)
		cc.Topics, cc.Handler, cc.Types = []string{"outbox.event.order"}, mux.Handle, mux.Types()
		cc.Metrics = consumer.NewMetrics(reg, mux.Types()...)
		cons, err := consumer.New(cc)
		if err != nil {
			pool.Close()
			return err
		}
		e := service.HTTP(cfg, pool, cons, log)
		httpserver.ServeMetrics(e, reg)
		e.GET("/carts/:id", func(c echo.Context) error { return c.NoContent(204) })
		s, err := service.Serve(ctx, "cart", cfg, service.Parts{Pool: pool, Consumer: cons, HTTP: e}, log)
		if err != nil {
			return err
		}
		return s.Run(ctx, release) // until a signal or a failure, then Shutdown
	})
}
