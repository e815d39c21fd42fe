package app

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/internal/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
)

// App is a running order service; package service describes its lifecycle
// (Addr, Done, Err, Shutdown, Run).
type App = service.Service

// Start migrates the database, starts the consumer of the payment and inventory topics and
// serves HTTP on cfg.HTTPAddr. It returns once all three are under way; on
// error nothing is left running.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	return service.Start(ctx, cfg, service.Spec{
		Name:       "order",
		Migrations: migrations.FS,
		Topics:     events.Topics,
		Wire: func(pool *pgxpool.Pool) service.Parts {
			repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: cfg.OutboxDeleteAfterInsert})
			handlers := events.New(repo, log)
			return service.Parts{
				Handler:  handlers.Handle,
				Validate: handlers.Validate,
				Routes:   func(e *echo.Echo) { httpapi.Register(e, repo, log) },
			}
		},
	}, log)
}
