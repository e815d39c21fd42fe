package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/kafkaapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
)

// backlogEvery is how often the backlog is counted for admission control.
const backlogEvery = 250 * time.Millisecond

// Start builds the order service in the order it depends on itself: its
// database (opened and migrated), its metrics registry, the storage
// adapter on the pool, the consumer of the payment and inventory events its
// Kafka adapter handles, and the HTTP API with GET /metrics. It returns
// once the consumer runs and HTTP listens on cfg.HTTPAddr; on error nothing
// is left running. Package service describes the running service (Addr,
// Done, Err, Shutdown, Run).
func Start(ctx context.Context, cfg service.Config, log *slog.Logger) (*service.Service, error) {
	pool, err := service.Open(ctx, "order", cfg, migrations.FS, log)
	if err != nil {
		return nil, err
	}

	// One registry per service: the Go runtime and the process, then each
	// part registers its own metrics; HTTP serves it at GET /metrics.
	reg := service.NewRegistry()
	orders := newOrderMetrics(reg)
	repo := postgres.New(pool, postgres.Options{
		DeleteAfterInsert: cfg.OutboxDeleteAfterInsert, RequireCapture: cfg.OutboxRequireCapture,
		OutboxMetrics: outbox.NewMetrics(reg), OnFinal: orders.final, Tracing: cfg.Tracing,
	})

	// The Kafka adapter's mux is the one list of what the service consumes:
	// the topics and the schema checks follow from its event types. The
	// consumer has connections of its own, so a flood of HTTP requests
	// cannot starve the saga of them.
	mux := kafkaapi.New(repo, log).Mux()
	cons, cpool, err := service.Subscribe(ctx, "order", cfg, service.Subscription{
		Mux: mux, Topics: events.TopicsOf(mux.Types()...), Validate: consumer.Validator(schemas.Validate, mux.Types()...),
	}, reg, log)
	if err != nil {
		pool.Close()
		return nil, err
	}

	// Admission control: past MAX_BACKLOG orders still PENDING, new ones
	// are refused (503, Retry-After) until the saga catches up.
	var opts httpapi.Options
	var tasks []service.Task
	if cfg.MaxBacklog > 0 {
		b := newBacklog(cfg.MaxBacklog, repo.Pending, reg, log)
		opts.Admit = b.admit
		tasks = append(tasks, service.Task{Name: "count the backlog", Every: backlogEvery, Run: b.refresh})
	}

	e := service.HTTP(cfg, pool, cons, log)
	httpserver.ServeMetrics(e, reg)
	httpapi.Register(e, repo, log, opts)

	// Idempotency keys are kept as long as the inbox keeps event ids.
	retention := cfg.WithDefaults().Retention
	pruneKeys := service.Task{Name: "prune idempotency keys", Every: time.Hour, Run: func(ctx context.Context) error {
		n, err := repo.PruneIdempotencyKeys(ctx, time.Now().Add(-retention))
		if n > 0 {
			log.Info("idempotency keys pruned", "keys", n, "retention", retention)
		}
		return err
	}}
	tasks = append(tasks, pruneKeys)
	return service.Serve(ctx, "order", cfg, service.Parts{Pool: pool, ConsumerPool: cpool, Consumer: cons, HTTP: e, Tasks: tasks}, log)
}
