package app

import (
	"context"
	"log/slog"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/kafkaapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
)

// Start builds the inventory service in the order it depends on itself: its
// database (opened and migrated), its metrics registry, the storage
// adapter on the pool, the consumer of the order events its Kafka adapter
// handles, and the HTTP API with GET /metrics. It returns once the
// consumer runs and HTTP listens on cfg.HTTPAddr; on error nothing is left
// running. Package service describes the running service (Addr, Done, Err,
// Shutdown, Run).
func Start(ctx context.Context, cfg service.Config, log *slog.Logger) (*service.Service, error) {
	pool, err := service.Open(ctx, "inventory", cfg, migrations.FS, log)
	if err != nil {
		return nil, err
	}

	// One registry per service: the Go runtime and the process, then each
	// part registers its own metrics; HTTP serves it at GET /metrics.
	reg := service.NewRegistry()
	repo := postgres.New(pool, postgres.Options{
		DeleteAfterInsert: cfg.OutboxDeleteAfterInsert, RequireCapture: cfg.OutboxRequireCapture,
		OutboxMetrics: outbox.NewMetrics(reg),
	})

	// The Kafka adapter's mux is the one list of what the service consumes:
	// the topics and the schema checks follow from its event types. The
	// consumer has connections of its own, so a flood of HTTP requests
	// cannot starve the saga of them.
	handlers := kafkaapi.New(repo, log)
	mux := handlers.Mux()
	cons, cpool, err := service.Subscribe(ctx, "inventory", cfg, service.Subscription{
		Mux: mux, Topics: events.TopicsOf(mux.Types()...), Validate: consumer.Validator(schemas.Validate, mux.Types()...),
		LockBatch: handlers.LockBatch,
	}, reg, log)
	if err != nil {
		pool.Close()
		return nil, err
	}

	e := service.HTTP(cfg, pool, cons, log)
	httpserver.ServeMetrics(e, reg)
	httpapi.Register(e, repo, log)
	return service.Serve(ctx, "inventory", cfg, service.Parts{Pool: pool, ConsumerPool: cpool, Consumer: cons, HTTP: e}, log)
}
