package pgdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrDirty means a previous migration failed half-way; a person must
	// repair the schema and clear the flag (migrate force) before start-up.
	ErrDirty = errors.New("database schema is dirty")
	// ErrSchemaTooNew means the database was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)

// Open creates a pool for dsn and waits (up to wait) until the database
// answers, so a service can start before its database is ready.
func Open(ctx context.Context, dsn string, wait time.Duration, log *slog.Logger) (*pgxpool.Pool, error) {
	return OpenSized(ctx, dsn, 0, wait, log)
}

// OpenSized is Open with a pool of at most maxConns connections (0 keeps
// pgx's default, or a pool_max_conns in dsn).
func OpenSized(ctx context.Context, dsn string, maxConns int32, wait time.Duration, log *slog.Logger) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgdb: parse dsn: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	keyedLookups(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			pool.Close()
			return nil, fmt.Errorf("pgdb: database %s not reachable: %w", cfg.ConnConfig.Database, err)
		}
		log.Info("waiting for database", "database", cfg.ConnConfig.Database, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// keyedLookups sets, on the pool's connections, what every statement a
// service runs is planned with, each setting unless dsn sets it itself (a
// query parameter of a URL, or options):
//
//   - enable_seqscan off. Every statement a service runs finds its rows by
//     key, through an index. PostgreSQL caches a statement's plan per
//     connection, made from the table's statistics at the time, and keeps it
//     until the table is analysed again: a plan made while a table was
//     nearly empty (a new database, the first minutes of a stack) is a
//     sequential scan, and each lookup then reads the whole table, more of it
//     every minute. Small tables updated in place all the time (stock,
//     accounts) fare the same: a scan reads every row version a page holds.
//     With sequential scans off, the planner takes the index whenever there
//     is one; a statement without one still runs.
//   - plan_cache_mode force_generic_plan. A statement that takes an array of
//     keys (id = ANY($1), unnest($1)) looks costlier in its generic plan,
//     made for an array of unknown length, than in a plan made for the keys
//     at hand, so by default PostgreSQL plans it anew at every execution,
//     for good: planning was about 30% of PostgreSQL's time for the three
//     statements that load an order. Lookups by key plan the same whatever
//     the keys, so each statement is planned once per connection, and again
//     when its tables' statistics change.
func keyedLookups(cfg *pgxpool.Config) {
	for name, value := range map[string]string{"enable_seqscan": "off", "plan_cache_mode": "force_generic_plan"} {
		if _, set := cfg.ConnConfig.RuntimeParams[name]; set {
			continue
		}
		if strings.Contains(cfg.ConnConfig.RuntimeParams["options"], name) {
			continue
		}
		cfg.ConnConfig.RuntimeParams[name] = value
	}
}

// Migrate applies every pending up migration found in dir of migrations.
// It returns the schema version it left the database at.
func Migrate(ctx context.Context, dsn string, migrations fs.FS, dir string, log *slog.Logger) (uint, error) {
	src, err := iofs.New(migrations, dir)
	if err != nil {
		return 0, fmt.Errorf("pgdb: migrations: %w", err)
	}
	newest, err := newestVersion(src)
	if err != nil {
		return 0, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return 0, fmt.Errorf("pgdb: parse dsn: %w", err)
	}
	u.Scheme = "pgx5"
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return 0, fmt.Errorf("pgdb: migrate: %w", err)
	}
	defer m.Close()
	// Let a cancelled start-up stop between migrations.
	stop := context.AfterFunc(ctx, func() {
		select {
		case m.GracefulStop <- true:
		default:
		}
	})
	defer stop()

	current, dirty, err := m.Version()
	switch {
	case errors.Is(err, migrate.ErrNilVersion):
		current = 0
	case err != nil:
		return 0, fmt.Errorf("pgdb: read schema version: %w", err)
	case dirty:
		return current, fmt.Errorf("pgdb: %w at version %d: a migration failed half-way; repair the schema by hand, then run `migrate force %d` (or the version before it) and restart", ErrDirty, current, current)
	case current > newest:
		return current, fmt.Errorf("pgdb: %w: database is at version %d, this binary knows up to %d; refusing to start (deploy the newer binary or roll the schema back)", ErrSchemaTooNew, current, newest)
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return 0, fmt.Errorf("pgdb: migrate up from version %d: %w", current, err)
	}
	v, _, err := m.Version()
	if err != nil {
		return 0, fmt.Errorf("pgdb: read schema version: %w", err)
	}
	if v != current {
		log.Info("database migrated", "from_version", current, "to_version", v)
	}
	return v, nil
}

type versionLister interface {
	First() (uint, error)
	Next(uint) (uint, error)
}

func newestVersion(src versionLister) (uint, error) {
	v, err := src.First()
	if err != nil {
		return 0, fmt.Errorf("pgdb: no migrations found: %w", err)
	}
	for {
		next, err := src.Next(v)
		if errors.Is(err, fs.ErrNotExist) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("pgdb: list migrations: %w", err)
		}
		v = next
	}
}
