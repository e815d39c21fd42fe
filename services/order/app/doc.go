// Package app assembles the order service: it migrates the database, serves
// the HTTP API and consumes the payment and inventory topics, and shuts all
// of it down in order. The command and the service's tests start it
// through Start.
//
//	a, err := app.Start(ctx, cfg, log)   // migrated, listening, consuming
//	select { case <-ctx.Done(): case <-a.Done(): }
//	err = a.Shutdown(shutdownCtx)        // HTTP, then consumer, then pool
//
// The ctx given to Start bounds start-up only; the service runs until
// Shutdown, or until a component fails (Done is closed and Err says why).
package app
