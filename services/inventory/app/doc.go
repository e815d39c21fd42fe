// Package app assembles the inventory service: configuration, the database
// (migrated at start), the order-event consumer and the HTTP API. It is a
// value tests and other modules can start in-process:
//
//	a, err := app.Start(ctx, cfg, log) // migrations applied, HTTP listening, consumer running
//	...
//	err = a.Shutdown(ctx)              // HTTP, then the consumer, then the pool
//
// Start's context bounds start-up only; the components run until Shutdown.
// Done is closed when a component stops on its own with an error (Err says
// which); the owner should then call Shutdown and exit.
package app
