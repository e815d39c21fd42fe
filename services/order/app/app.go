// Package app assembles the order service: it migrates the database, serves
// the HTTP API and consumes the payment and inventory topics, and shuts all
// of it down in order. The command and the end-to-end tests start the
// service through Start.
//
//	a, err := app.Start(ctx, cfg, log)   // migrated, listening, consuming
//	select { case <-ctx.Done(): case <-a.Done(): }
//	err = a.Shutdown(shutdownCtx)        // HTTP, then consumer, then pool
//
// The ctx given to Start bounds start-up only; the service runs until
// Shutdown, or until a component fails (Done is closed and Err says why).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
	"github.com/outboxcdc/outboxcdc/services/order/internal/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/order/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/order/migrations"
)

// App is a running order service.
type App struct {
	log  *slog.Logger
	ln   net.Listener
	pool *pgxpool.Pool

	stopHTTP     context.CancelFunc
	stopConsumer context.CancelFunc
	httpDone     chan struct{}
	consumerDone chan struct{}
	httpErr      error // shutdown error, set before httpDone closes
	consumerErr  error // shutdown error, set before consumerDone closes

	done     chan struct{}
	failOnce sync.Once
	err      error // set before done closes

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start migrates the database, starts the consumer and the HTTP server,
// and returns once the server is listening. On error nothing is left
// running.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if cfg.DatabaseWait <= 0 {
		cfg.DatabaseWait = DefaultDatabaseWait
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.HTTPBodyLimit == "" {
		cfg.HTTPBodyLimit = DefaultHTTPBodyLimit
	}
	log.Info("starting order service", "http_addr", cfg.HTTPAddr, "database", redact(cfg.DatabaseURL),
		"brokers", cfg.Brokers, "group", cfg.Group, "outbox_delete_after_insert", cfg.OutboxDeleteAfterInsert)

	pool, err := pgdb.Open(ctx, cfg.DatabaseURL, cfg.DatabaseWait, log)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	version, err := pgdb.Migrate(ctx, cfg.DatabaseURL, migrations.FS, ".", log)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: cfg.OutboxDeleteAfterInsert})
	handlers := events.New(repo, log)
	cons, err := consumer.New(consumer.Config{
		Brokers:    cfg.Brokers,
		Group:      cfg.Group,
		Topics:     events.Topics,
		Pool:       pool,
		Handler:    handlers.Handle,
		Validate:   handlers.Validate,
		Logger:     log,
		ClientOpts: cfg.KafkaClientOpts,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	e := httpserver.New(httpserver.Config{
		BodyLimit: cfg.HTTPBodyLimit,
		Logger:    log,
		Ready: []httpserver.Check{
			{Name: "database", Check: pool.Ping},
			{Name: "broker", Check: cons.Ping},
		},
	})
	httpapi.Register(e, repo, log)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("app: listen on %s: %w", cfg.HTTPAddr, err)
	}

	// The components outlive the start-up context: they stop on Shutdown.
	base := context.WithoutCancel(ctx)
	httpCtx, stopHTTP := context.WithCancel(base)
	consumerCtx, stopConsumer := context.WithCancel(base)
	a := &App{
		log:          log,
		ln:           ln,
		pool:         pool,
		stopHTTP:     stopHTTP,
		stopConsumer: stopConsumer,
		httpDone:     make(chan struct{}),
		consumerDone: make(chan struct{}),
		done:         make(chan struct{}),
	}
	go func() {
		defer close(a.consumerDone)
		err := cons.Run(consumerCtx)
		if consumerCtx.Err() == nil {
			a.fail(fmt.Errorf("app: consumer stopped: %w", orStopped(err)))
			return
		}
		a.consumerErr = err
	}()
	go func() {
		defer close(a.httpDone)
		err := httpserver.Serve(httpCtx, e, ln, cfg.ShutdownTimeout)
		if httpCtx.Err() == nil {
			a.fail(fmt.Errorf("app: http server stopped: %w", orStopped(err)))
			return
		}
		a.httpErr = err
	}()
	log.Info("order service started", "http_addr", a.Addr(), "schema_version", version)
	return a, nil
}

var errStopped = errors.New("stopped unexpectedly")

func orStopped(err error) error {
	if err == nil {
		return errStopped
	}
	return err
}

// fail records the first fatal error and closes Done.
func (a *App) fail(err error) {
	a.failOnce.Do(func() {
		a.log.Error("component failed", "err", err)
		a.err = err
		close(a.done)
	})
}

// Addr returns the address the HTTP server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Done is closed when a component fails fatally; Err then says why. It is
// not closed by Shutdown.
func (a *App) Done() <-chan struct{} { return a.done }

// Err returns the fatal error that closed Done, or nil.
func (a *App) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}

// Shutdown stops the service gracefully, in order: the HTTP server
// (in-flight requests finish), then the consumer (the record in flight
// finishes and offsets are committed), then the database pool. It returns
// what went wrong while stopping; a failure that closed Done is reported
// by Err, not again here. When ctx
// ends first Shutdown returns its error and leaves the pool open, since
// connections may still be in use. Later calls return the first result.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutdownOnce.Do(func() {
		a.shutdownErr = a.shutdown(ctx)
	})
	return a.shutdownErr
}

func (a *App) shutdown(ctx context.Context) error {
	a.log.Info("stopping order service")
	a.stopHTTP()
	if err := wait(ctx, a.httpDone, "http server"); err != nil {
		return err
	}
	a.stopConsumer()
	if err := wait(ctx, a.consumerDone, "consumer"); err != nil {
		return err
	}
	a.pool.Close()
	err := errors.Join(a.httpErr, a.consumerErr)
	a.log.Info("order service stopped", "err", err)
	return err
}

func wait(ctx context.Context, done <-chan struct{}, what string) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("app: shutdown: waiting for %s: %w", what, ctx.Err())
	}
}
