// Package service is the lifecycle every service of the saga shares: read
// the standard environment, open and migrate the service's database,
// consume its topics through package consumer, serve its HTTP API through
// package httpserver, and stop all of it in order.
//
// A service's app package builds it in plain steps that read top to
// bottom, calling this package only for what every service does alike:
//
//	pool, err := service.Open(ctx, "payment", cfg, migrations.FS, log) // open, migrate
//	reg := service.NewRegistry()                                         // Go and process metrics
//	repo := postgres.New(pool, ...)                                      // the service's own adapters (outbox.NewMetrics(reg))
//	mux := kafkaapi.New(repo, log).Mux()
//	cons, cpool, err := service.Subscribe(ctx, "payment", cfg, service.Subscription{ // the consumer, on its own pool
//		Mux: mux, Topics: events.TopicsOf(mux.Types()...), Validate: consumer.Validator(schemas.Validate, mux.Types()...),
//	}, reg, log)
//	e := service.HTTP(cfg, pool, cons, log)                              // /healthz, /readyz
//	httpserver.ServeMetrics(e, reg)                                      // /metrics, request metrics
//	httpapi.Register(e, repo, log)
//	s, err := service.Serve(ctx, "payment", cfg, service.Parts{Pool: pool, ConsumerPool: cpool, Consumer: cons, HTTP: e}, log)
//	err = s.Run(ctx, release) // until a signal or a failure, then Shutdown (main: program.Main)
//
// # Contract
//
//   - Open returns once the database answers and is migrated; on error
//     nothing is left open. Subscribe builds the consumer on a second pool
//     (OpenConsumerPool), so HTTP requests never hold every connection
//     the saga needs; on error it leaves nothing open either. It passes
//     the mux's types as consumer.Config.Types: events of types the mux
//     has no handler for are acknowledged without a database transaction
//     and leave no inbox row. Serve owns the pools from its call on, returns
//     once the consumer runs and HTTP listens (Addr), and on error closes
//     the pools and leaves nothing running. Their contexts bound start-up
//     only.
//   - Parts.Tasks run at start and then every Task.Every while the service
//     runs; a failing task is logged and keeps its turn; Shutdown stops
//     them before it closes the pool.
//   - GET /healthz answers while HTTP runs; GET /readyz reports the checks
//     "database" (a ping) and "broker" (the consumer has joined its group
//     and a broker answers).
//   - NewRegistry is the service's own Prometheus registry (never the
//     global one), so several services run in one process without their
//     metrics colliding; GET /metrics serves it once the app has called
//     httpserver.ServeMetrics.
//   - Done is closed when a component stops on its own (Err says which and
//     why); the owner should then shut down and exit. Shutdown does not
//     close it.
//   - Shutdown stops HTTP (in-flight requests finish), then the consumer
//     (the record in flight finishes and its offset is committed), then
//     closes the pool, each wait bounded by its context. It may be called
//     more than once and always returns the first result.
//   - Log messages name the service: "starting <name> service",
//     "<name> service started", "stopping <name> service",
//     "<name> service stopped".
//
// # Limits
//
// One consumer group, one HTTP listener and one database per service. The
// service's own settings beyond Config (such as its repository options) are
// read by its app package from the same Config.
package service
