package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/envconfig"
	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgdb"
)

// Open logs that the service named name is starting, opens its pool
// (waiting up to cfg.DatabaseWait for the database to answer) and brings
// its schema up to date with migrations, golang-migrate files at the root
// of the FS. On error nothing is left open; the error starts with name.
func Open(ctx context.Context, name string, cfg Config, migrations fs.FS, log *slog.Logger) (*pgxpool.Pool, error) {
	cfg = cfg.WithDefaults()
	log.Info("starting "+name+" service", "http_addr", cfg.HTTPAddr, "database", envconfig.RedactURL(cfg.DatabaseURL),
		"brokers", cfg.Brokers, "group", cfg.Group, "outbox_delete_after_insert", cfg.OutboxDeleteAfterInsert)
	pool, err := pgdb.OpenSized(ctx, cfg.DatabaseURL, int32(cfg.DatabaseConns), cfg.DatabaseWait, log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := pgdb.Migrate(ctx, cfg.DatabaseURL, migrations, ".", log); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return pool, nil
}

// OpenConsumerPool opens the consumer's own pool of cfg.ConsumerConns
// connections to the service's database (opened and migrated by Open).
// The consumer's transactions never wait behind HTTP requests for a
// connection: under a flood of requests the saga still advances.
func OpenConsumerPool(ctx context.Context, name string, cfg Config, log *slog.Logger) (*pgxpool.Pool, error) {
	cfg = cfg.WithDefaults()
	pool, err := pgdb.OpenSized(ctx, cfg.DatabaseURL, int32(cfg.ConsumerConns), cfg.DatabaseWait, log)
	if err != nil {
		return nil, fmt.Errorf("%s: consumer pool: %w", name, err)
	}
	return pool, nil
}

// Subscription is what a service consumes: the handlers of its Kafka
// adapter's mux, the topics their event types travel on and the check of
// each event's payload (the apps derive both from the mux's types).
type Subscription struct {
	Mux      consumer.Mux
	Topics   []string
	Validate func(consumer.Event) error
	// LockBatch, when set, queues on b the statements that lock the rows a
	// batch of events will update, in one order, before its handlers run
	// (consumer.Config.LockBatch).
	LockBatch func(ctx context.Context, b *pgx.Batch, evs []consumer.Event) error
}

// Subscribe builds the service's consumer as every service does: on a pool
// of its own (OpenConsumerPool) with cfg's consumer settings, for sub (see
// Subscription.config), its metrics on reg labelled by the mux's event
// types. On error nothing is left open; otherwise the pool goes to
// Parts.ConsumerPool.
func Subscribe(ctx context.Context, name string, cfg Config, sub Subscription, reg prometheus.Registerer, log *slog.Logger) (*consumer.Consumer, *pgxpool.Pool, error) {
	cpool, err := OpenConsumerPool(ctx, name, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	cons, err := consumer.New(sub.config(cfg.Consumer(cpool, log), reg))
	if err != nil {
		cpool.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return cons, cpool, nil
}

// config completes cc with what sub consumes: its topics, the mux as
// handler and the event types it takes (so events of other types are
// acknowledged without a transaction), the payload check, the batches'
// row locks, and metrics on reg labelled by those types.
func (sub Subscription) config(cc consumer.Config, reg prometheus.Registerer) consumer.Config {
	types := sub.Mux.Types()
	cc.Topics, cc.Handler, cc.Types, cc.Validate, cc.LockBatch = sub.Topics, sub.Mux.Handle, types, sub.Validate, sub.LockBatch
	cc.Metrics = consumer.NewMetrics(reg, types...)
	return cc
}

// Consumer returns the consumer settings cfg holds, on pool. The service
// adds what is its own: Topics, Handler, Types and Validate.
func (c Config) Consumer(pool *pgxpool.Pool, log *slog.Logger) consumer.Config {
	c = c.WithDefaults()
	return consumer.Config{Brokers: c.Brokers, Group: c.Group, InstanceID: c.InstanceID, Pool: pool, Logger: log, ClientOpts: c.KafkaClientOpts,
		InboxRetention: c.Retention, Tracing: c.Tracing, BatchSize: c.ConsumerBatch}
}

// HTTP returns the service's echo instance with cfg's body limit, GET
// /healthz, and GET /readyz checking "database" (a ping of pool),
// "broker" (cons has joined its group and a broker answers) and, with
// OutboxRequireCapture, "capture" (a logical replication slot exists in
// the database), and with Profiles the Go profiles under /debug/pprof/.
// The service registers its own routes on it.
func HTTP(cfg Config, pool *pgxpool.Pool, cons *consumer.Consumer, log *slog.Logger) *echo.Echo {
	cfg = cfg.WithDefaults()
	ready := []httpserver.Check{
		{Name: "database", Check: pool.Ping},
		{Name: "broker", Check: cons.Ping},
	}
	if cfg.OutboxRequireCapture {
		ready = append(ready, httpserver.Check{Name: "capture", Check: func(ctx context.Context) error {
			return outbox.CaptureReady(ctx, pool)
		}})
	}
	e := httpserver.New(httpserver.Config{
		BodyLimit: cfg.HTTPBodyLimit,
		Timeouts:  cfg.HTTPTimeouts,
		Logger:    log,
		Ready:     ready,
		Tracing:   cfg.Tracing,
	})
	if cfg.Profiles {
		httpserver.ServeProfiles(e)
	}
	return e
}

// Parts are a service's running pieces, built by its app package on the
// pool that Open returned.
type Parts struct {
	Pool *pgxpool.Pool
	// ConsumerPool, when set, is the consumer's own pool
	// (OpenConsumerPool), owned and closed like Pool.
	ConsumerPool *pgxpool.Pool
	Consumer     *consumer.Consumer
	HTTP         *echo.Echo
	// Tasks run periodically while the service runs (housekeeping such as
	// pruning old rows); they stop before the pool closes.
	Tasks []Task
}

// closePools closes the pools p holds.
func (p Parts) closePools() {
	p.Pool.Close()
	if p.ConsumerPool != nil {
		p.ConsumerPool.Close()
	}
}

// Task is periodic housekeeping: Run is called at start and then every
// Every until Shutdown. An error is logged and the task runs again at its
// next turn; it never stops the service.
type Task struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Service is a running service.
type Service struct {
	name            string
	log             *slog.Logger
	ln              net.Listener
	pools           func() // closes the pools
	shutdownTimeout time.Duration

	stopHTTP     context.CancelFunc
	stopConsumer context.CancelFunc
	stopTasks    context.CancelFunc
	tasksDone    sync.WaitGroup
	httpDone     chan struct{}
	consumerDone chan struct{}
	httpErr      error // error while stopping, set before httpDone closes
	consumerErr  error // error while stopping, set before consumerDone closes

	done     chan struct{}
	failOnce sync.Once
	err      error // set before done closes

	shutdownOnce sync.Once
	shutdownErr  error
}

// Serve listens on cfg.HTTPAddr, runs p.Consumer and serves p.HTTP. It
// returns once both are under way. It owns p.Pool from the call on: on
// error it closes it and nothing is left running; otherwise Shutdown
// closes it after the consumer and HTTP have stopped. Zero
// ShutdownTimeout takes its default.
//
// ctx bounds start-up only: the service runs until Shutdown, or until a
// component fails (Done is closed and Err says why).
func Serve(ctx context.Context, name string, cfg Config, p Parts, log *slog.Logger) (*Service, error) {
	cfg = cfg.WithDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		p.closePools()
		return nil, fmt.Errorf("%s: listen on %s: %w", name, cfg.HTTPAddr, err)
	}

	// The components outlive the start-up context: they stop on Shutdown.
	base := context.WithoutCancel(ctx)
	httpCtx, stopHTTP := context.WithCancel(base)
	consumerCtx, stopConsumer := context.WithCancel(base)
	s := &Service{
		name:            name,
		log:             log,
		ln:              ln,
		pools:           p.closePools,
		shutdownTimeout: cfg.ShutdownTimeout,
		stopHTTP:        stopHTTP,
		stopConsumer:    stopConsumer,
		httpDone:        make(chan struct{}),
		consumerDone:    make(chan struct{}),
		done:            make(chan struct{}),
	}
	go func() {
		defer close(s.consumerDone)
		err := p.Consumer.Run(consumerCtx)
		if consumerCtx.Err() == nil {
			s.fail(fmt.Errorf("%s: consumer stopped: %w", s.name, orStopped(err)))
			return
		}
		s.consumerErr = err
	}()
	tasksCtx, stopTasks := context.WithCancel(base)
	s.stopTasks = stopTasks
	for _, t := range p.Tasks {
		s.tasksDone.Go(func() { s.runTask(tasksCtx, t) })
	}
	go func() {
		defer close(s.httpDone)
		err := httpserver.Serve(httpCtx, p.HTTP, ln, cfg.ShutdownTimeout)
		if httpCtx.Err() == nil {
			s.fail(fmt.Errorf("%s: http server stopped: %w", s.name, orStopped(err)))
			return
		}
		s.httpErr = err
	}()
	log.Info(name+" service started", "http_addr", s.Addr(), "brokers", cfg.Brokers, "group", cfg.Group)
	return s, nil
}

// runTask runs t at once and then every t.Every until ctx is done.
func (s *Service) runTask(ctx context.Context, t Task) {
	every := t.Every
	if every <= 0 {
		every = time.Hour
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := t.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("periodic task failed; it runs again at its next turn", "task", t.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var errStopped = errors.New("stopped unexpectedly")

func orStopped(err error) error {
	if err == nil {
		return errStopped
	}
	return err
}

// fail records the first fatal error and closes Done.
func (s *Service) fail(err error) {
	s.failOnce.Do(func() {
		s.log.Error("component failed", "err", err)
		s.err = err
		close(s.done)
	})
}

// Addr is the address HTTP listens on.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Done is closed when a component fails on its own; Err then says why. A
// graceful Shutdown does not close it.
func (s *Service) Done() <-chan struct{} { return s.done }

// Err is the failure that closed Done, or nil.
func (s *Service) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Shutdown stops the service in order: HTTP (in-flight requests finish,
// within the configured ShutdownTimeout), then the consumer (the record in
// flight finishes and offsets are committed), then the pool. ctx bounds
// the wait for each component; one that has not stopped in time is
// reported and the pool is closed in the background once its connections
// come back. It returns what went wrong while stopping; a failure that
// closed Done is reported by Err, not here. Later calls return the first
// result.
func (s *Service) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.shutdownErr = s.shutdown(ctx)
	})
	return s.shutdownErr
}

func (s *Service) shutdown(ctx context.Context) error {
	s.log.Info("stopping " + s.name + " service")
	var errs []error
	stop := func(what string, cancel context.CancelFunc, done <-chan struct{}, stopErr *error) bool {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			select {
			case <-done:
			default:
				errs = append(errs, fmt.Errorf("%s: shutdown: waiting for %s: %w", s.name, what, ctx.Err()))
				return false
			}
		}
		if *stopErr != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", s.name, what, *stopErr))
		}
		return true
	}
	httpStopped := stop("http server", s.stopHTTP, s.httpDone, &s.httpErr)
	consumerStopped := stop("consumer", s.stopConsumer, s.consumerDone, &s.consumerErr)
	s.stopTasks()
	s.tasksDone.Wait()
	if httpStopped && consumerStopped {
		s.pools()
	} else {
		// Close waits for every borrowed connection; a component that did
		// not stop in time may still hold one.
		go s.pools()
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error(s.name+" service stopped", "err", err)
	} else {
		s.log.Info(s.name + " service stopped")
	}
	return err
}

// Run blocks until ctx is done (main's signal context) or a component
// fails, then calls release (main's signal.NotifyContext stop, so that a
// second signal kills the process) and shuts the service down within the
// configured ShutdownTimeout. It returns the failure, if any, joined with
// what went wrong while stopping.
func (s *Service) Run(ctx context.Context, release func()) error {
	select {
	case <-ctx.Done():
		s.log.Info("signal received, shutting down")
	case <-s.Done():
		s.log.Error("shutting down after a failure", "err", s.Err())
	}
	release()
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	return errors.Join(s.Err(), s.Shutdown(sctx))
}
