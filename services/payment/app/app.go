package app

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/service"
	saga "github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/payment/migrations"
)

// App is a running payment service; package service describes its lifecycle
// (Addr, Done, Err, Shutdown, Run).
type App = service.Service

// Start migrates the database, starts the consumer of outbox.event.order and
// serves HTTP on cfg.HTTPAddr. It returns once all three are under way; on
// error nothing is left running.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	return service.Start(ctx, cfg, service.Spec{
		Name:       "payment",
		Migrations: migrations.FS,
		Topics:     []string{saga.TopicOrder},
		Wire: func(pool *pgxpool.Pool) service.Parts {
			repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: cfg.OutboxDeleteAfterInsert})
			handlers := events.New(repo, log)
			return service.Parts{
				Handler:  handlers.Mux().Handle,
				Validate: events.Validate,
				Routes:   func(e *echo.Echo) { httpapi.Register(e, repo) },
			}
		},
	}, log)
}
