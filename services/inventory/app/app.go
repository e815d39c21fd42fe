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
	saga "github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/httpapi"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/postgres"
	"github.com/outboxcdc/outboxcdc/services/inventory/migrations"
)

// App is a running inventory service.
type App struct {
	log  *slog.Logger
	pool *pgxpool.Pool
	addr string

	stopHTTP     context.CancelFunc
	httpDone     chan struct{}
	stopConsumer context.CancelFunc
	consumerDone chan struct{}

	done     chan struct{}
	failOnce sync.Once
	err      error

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start migrates the database, starts the consumer of outbox.event.order
// and serves HTTP on cfg.HTTPAddr. It returns once all three are under
// way; on error nothing is left running.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	pool, err := pgdb.Open(ctx, cfg.DatabaseURL, cfg.DatabaseWait, log)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if _, err := pgdb.Migrate(ctx, cfg.DatabaseURL, migrations.FS, ".", log); err != nil {
		pool.Close()
		return nil, fmt.Errorf("inventory: %w", err)
	}
	repo := postgres.New(pool, postgres.Options{DeleteAfterInsert: cfg.OutboxDeleteAfterInsert})
	cons, err := consumer.New(consumer.Config{
		Brokers:    cfg.Brokers,
		Group:      cfg.Group,
		Topics:     []string{saga.TopicOrder},
		Pool:       pool,
		Handler:    events.New(repo, log).Mux().Handle,
		Validate:   events.Validate,
		Logger:     log,
		ClientOpts: cfg.KafkaClientOpts,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("inventory: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("inventory: listen: %w", err)
	}
	e := httpapi.New(httpapi.Config{
		Store:     repo,
		BodyLimit: cfg.HTTPBodyLimit,
		Logger:    log,
		Ready: []httpserver.Check{
			{Name: "database", Check: pool.Ping},
			{Name: "kafka", Check: cons.Ping},
		},
	})

	a := &App{
		log: log, pool: pool, addr: ln.Addr().String(),
		httpDone: make(chan struct{}), consumerDone: make(chan struct{}), done: make(chan struct{}),
	}
	// The components outlive Start's context: only Shutdown stops them.
	base := context.WithoutCancel(ctx)
	consumerCtx, stopConsumer := context.WithCancel(base)
	httpCtx, stopHTTP := context.WithCancel(base)
	a.stopConsumer, a.stopHTTP = stopConsumer, stopHTTP
	go func() {
		defer close(a.consumerDone)
		err := cons.Run(consumerCtx)
		if consumerCtx.Err() == nil {
			a.fail(fmt.Errorf("inventory: consumer stopped: %w", err))
		} else if err != nil {
			log.Error("consumer stopped with an error", "err", err)
		}
	}()
	go func() {
		defer close(a.httpDone)
		err := httpserver.Serve(httpCtx, e, ln, cfg.ShutdownTimeout)
		if httpCtx.Err() == nil {
			a.fail(fmt.Errorf("inventory: http server stopped: %w", err))
		} else if err != nil {
			log.Error("http server stopped with an error", "err", err)
		}
	}()
	log.Info("inventory service started", "http_addr", a.addr, "brokers", cfg.Brokers, "group", cfg.Group)
	return a, nil
}

func (a *App) fail(err error) {
	a.failOnce.Do(func() {
		a.err = err
		a.log.Error("component failed", "err", err)
		close(a.done)
	})
}

// Addr is the address HTTP listens on.
func (a *App) Addr() string { return a.addr }

// Done is closed when a component fails on its own; Err then says why.
func (a *App) Done() <-chan struct{} { return a.done }

// Err is the failure that closed Done, or nil.
func (a *App) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}

// Shutdown stops HTTP (in-flight requests finish), then the consumer (the
// record in flight finishes and offsets are committed), then closes the
// pool. ctx bounds the wait for each; later calls return the first result.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutdownOnce.Do(func() {
		var errs []error
		a.stopHTTP()
		if err := wait(ctx, a.httpDone); err != nil {
			errs = append(errs, fmt.Errorf("inventory: http shutdown: %w", err))
		}
		a.stopConsumer()
		if err := wait(ctx, a.consumerDone); err != nil {
			errs = append(errs, fmt.Errorf("inventory: consumer shutdown: %w", err))
		}
		if len(errs) == 0 {
			a.pool.Close()
		} else {
			// Close waits for every borrowed connection; a component that
			// did not stop in time may still hold one.
			go a.pool.Close()
		}
		a.shutdownErr = errors.Join(errs...)
		a.log.Info("inventory service stopped")
	})
	return a.shutdownErr
}

func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
