package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

// config is one chaos run.
type config struct {
	dir        string // the stack's state directory ("" finds it)
	pgPassword string
	seed       int64

	duration  time.Duration // how long orders are placed
	rate      float64       // orders per second, open loop
	customers int
	skus      int

	relayKills   int
	serviceKills int // per service
	pgRestarts   int
	brokerStops  int
	brokerPause  time.Duration
	poison       int
	malformed    int // per service
	slow         int // slow clients per service

	quiesce time.Duration // how long to wait for every order to end
	grace   time.Duration // the auditor's grace for orders still pending
}

// profiles: the full run (make chaos) and the short one make test runs.
var (
	fullProfile = config{
		duration: 3 * time.Minute, rate: 20, customers: 40, skus: 20,
		relayKills: 5, serviceKills: 3, pgRestarts: 1, brokerStops: 1, brokerPause: 30 * time.Second,
		poison: 1000, malformed: 100, slow: 10,
		quiesce: 5 * time.Minute, grace: 30 * time.Second,
	}
	shortProfile = config{
		duration: 40 * time.Second, rate: 8, customers: 12, skus: 6,
		relayKills: 1, serviceKills: 1, pgRestarts: 1, brokerStops: 1, brokerPause: 5 * time.Second,
		poison: 30, malformed: 10, slow: 2,
		quiesce: 4 * time.Minute, grace: 30 * time.Second,
	}
)

func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	short := fs.Bool("short", false, "the short run: a few hundred orders, one fault of each kind")
	dir := fs.String("dir", "", "the stack's state directory (default: DEV_DIR, else the running stack under .dev/ or .stack/)")
	seed := fs.Int64("seed", 0, "seed of the schedule and the load (default: from the clock; printed)")
	var o config
	fs.DurationVar(&o.duration, "duration", 0, "how long orders are placed")
	fs.Float64Var(&o.rate, "rate", 0, "orders per second")
	fs.IntVar(&o.relayKills, "relay-kills", -1, "SIGKILLs of the relay")
	fs.IntVar(&o.serviceKills, "service-kills", -1, "SIGKILLs of each service")
	fs.IntVar(&o.pgRestarts, "postgres-restarts", -1, "immediate-mode PostgreSQL shutdowns")
	fs.DurationVar(&o.brokerPause, "broker-pause", 0, "how long the broker is stopped")
	fs.IntVar(&o.poison, "poison", -1, "poison records")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("%w (flags: -short -dir -seed -duration -rate -relay-kills -service-kills -postgres-restarts -broker-pause -poison)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := fullProfile
	if *short {
		cfg = shortProfile
	}
	cfg.dir = *dir
	if cfg.dir == "" {
		cfg.dir = getenv("DEV_DIR")
	}
	cfg.pgPassword = or(getenv("POSTGRES_PASSWORD"), "postgres")
	cfg.seed = *seed
	if cfg.seed == 0 {
		cfg.seed = time.Now().UnixNano() % 1_000_000_007
	}
	if o.duration > 0 {
		cfg.duration = o.duration
	}
	if o.rate > 0 {
		cfg.rate = o.rate
	}
	for _, p := range []struct{ from, to *int }{
		{&o.relayKills, &cfg.relayKills}, {&o.serviceKills, &cfg.serviceKills},
		{&o.pgRestarts, &cfg.pgRestarts}, {&o.poison, &cfg.poison},
	} {
		if *p.from >= 0 {
			*p.to = *p.from
		}
	}
	if o.brokerPause > 0 {
		cfg.brokerPause = o.brokerPause
	}
	return cfg, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
