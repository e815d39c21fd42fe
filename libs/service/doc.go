// Package service is the lifecycle every service of the saga shares: read
// the standard environment, open and migrate the service's database,
// consume its topics through package consumer, serve its HTTP API through
// package httpserver, and stop all of it in order.
//
// A service contributes only what is its own, through a Spec: its name,
// migrations, topics and a Wire function that builds its event handler and
// HTTP routes on the pool. Its app package stays the place that wires
// them, and its main stays explicit:
//
//	cfg, err := service.ConfigFromEnv(getenv, "payment", service.Defaults{...})
//	s, err := service.Start(ctx, cfg, service.Spec{
//		Name: "payment", Migrations: migrations.FS, Topics: []string{"outbox.event.order"},
//		Wire: func(pool *pgxpool.Pool) service.Parts { ... },
//	}, log)
//	err = s.Run(ctx, stop)  // until a signal or a failure, then Shutdown
//
// # Contract
//
//   - Start returns once the database answers and is migrated, the
//     consumer runs and HTTP listens (Addr); on error nothing is left
//     running. Its context bounds start-up only.
//   - GET /healthz answers while HTTP runs; GET /readyz reports the checks
//     "database" (a ping) and "broker" (the consumer has joined its group
//     and a broker answers).
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
// read by its Wire function from the same Config.
package service
