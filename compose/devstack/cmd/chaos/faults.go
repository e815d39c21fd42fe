package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
)

// fault is one scheduled fault.
type fault struct {
	at     time.Duration // after the load starts
	kind   string        // kill, postgres, broker, poison, http
	target string        // the component, for kill
}

// schedule spreads the run's faults at seeded random times over the middle
// of the load, so there is traffic before, during and after each.
func schedule(cfg config, relay string, rng *rand.Rand) []fault {
	var fs []fault
	add := func(n int, kind, target string) {
		for range n {
			fs = append(fs, fault{kind: kind, target: target})
		}
	}
	add(cfg.relayKills, "kill", relay)
	for _, s := range []string{"order", "payment", "inventory"} {
		add(cfg.serviceKills, "kill", s)
	}
	add(cfg.pgRestarts, "postgres", "postgres")
	add(cfg.brokerStops, "broker", "kafka")
	if cfg.poison > 0 {
		add(1, "poison", "")
	}
	if cfg.malformed > 0 || cfg.slow > 0 {
		add(1, "http", "")
	}
	lo, hi := 0.1*float64(cfg.duration), 0.8*float64(cfg.duration)
	for i := range fs {
		fs[i].at = time.Duration(lo + rng.Float64()*(hi-lo))
	}
	slices.SortFunc(fs, func(a, b fault) int { return int(a.at - b.at) })
	return fs
}

// reporter prints one line per event of the run, with its time.
type reporter struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (r *reporter) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%+8.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// injector carries out faults against the stack.
type injector struct {
	stack  *stackstate.Stack
	cfg    config
	out    *reporter
	probes *probes

	mu         sync.Mutex
	violations []string
}

func (in *injector) violate(format string, args ...any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.violations = append(in.violations, fmt.Sprintf(format, args...))
}

// runAll carries out the faults one after the other, each at its time.
func (in *injector) runAll(ctx context.Context, faults []fault, start time.Time) {
	for _, f := range faults {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(f.at))):
		}
		in.run(ctx, f)
	}
}

func (in *injector) run(ctx context.Context, f fault) {
	switch f.kind {
	case "kill":
		c, ok := in.waitBack(ctx, f.target)
		if !ok {
			return
		}
		if err := syscall.Kill(c.Pid, syscall.SIGKILL); err != nil {
			in.violate("kill -9 %s (pid %d): %v", f.target, c.Pid, err)
			return
		}
		in.out.printf("kill -9 %-9s pid %d", f.target, c.Pid)
	case "postgres":
		c, ok := in.waitBack(ctx, "postgres")
		if !ok {
			return
		}
		// SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl stop -m
		// immediate): no checkpoint, crash recovery on the next start.
		if err := syscall.Kill(c.Pid, syscall.SIGQUIT); err != nil {
			in.violate("immediate shutdown of postgres (pid %d): %v", c.Pid, err)
			return
		}
		in.out.printf("postgres  immediate shutdown of pid %d", c.Pid)
	case "broker":
		c, ok := in.waitBack(ctx, "kafka")
		if !ok {
			return
		}
		if err := syscall.Kill(c.Pid, syscall.SIGSTOP); err != nil {
			in.violate("stopping the broker (pid %d): %v", c.Pid, err)
			return
		}
		in.out.printf("broker    stopped (SIGSTOP pid %d) for %s", c.Pid, in.cfg.brokerPause)
		select {
		case <-ctx.Done():
		case <-time.After(in.cfg.brokerPause):
		}
		if err := syscall.Kill(c.Pid, syscall.SIGCONT); err != nil {
			in.violate("resuming the broker (pid %d): %v", c.Pid, err)
			return
		}
		in.out.printf("broker    resumed (SIGCONT pid %d)", c.Pid)
	case "poison":
		n, err := in.probes.poison(ctx, in.cfg.poison)
		if err != nil {
			in.violate("producing poison records: %v", err)
		}
		in.out.printf("poison    %d records on the routed topics", n)
	case "http":
		bad, slow := in.probes.http(ctx, in.cfg.malformed, in.cfg.slow)
		in.out.printf("http      %d malformed requests, %d slow clients (checked at the end)", bad, slow)
	}
}

// waitBack waits until a component runs and answers its health check
// (after a previous fault it may still be restarting).
func (in *injector) waitBack(ctx context.Context, name string) (stackstate.Component, bool) {
	deadline := time.Now().Add(3 * time.Minute)
	var last error
	for {
		c, err := in.stack.Component(name)
		if err == nil {
			if !stackstate.Alive(c.Pid) {
				err = fmt.Errorf("pid %d is not running", c.Pid)
			} else if err = c.Healthy(); err == nil {
				return c, true
			}
		}
		last = err
		if time.Now().After(deadline) || ctx.Err() != nil {
			in.violate("%s did not come back within 3 minutes: %v", name, last)
			return stackstate.Component{}, false
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
