package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// TestShortRunPasses is the short chaos run of make test, on every stack
// (embedded; walrelay with Apache Kafka; Debezium with Apache Kafka), each
// started as make dev starts it: a few hundred orders while the relay,
// every service and PostgreSQL are killed once, the broker is stopped,
// poison records and malformed requests arrive; afterwards every order is
// terminal and the auditor finds nothing lost and nothing done twice.
func TestShortRunPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	bin := devstacktest.Build(t)
	for _, tc := range []struct{ stack, relay string }{{"embedded", "walrelay"}, {"kafka", "walrelay"}, {"debezium", "connect"}} {
		t.Run(tc.stack, func(t *testing.T) {
			if tc.stack != "embedded" {
				jvmtest.LibDir(t) // skips (outside CI) or fails where the JVM stack cannot run
			}
			shortRun(t, bin, tc.stack, tc.relay)
		})
	}
}

func shortRun(t *testing.T, bin, stackName, relay string) {
	// Debug logs name every event a service skipped and why, which a
	// stuck order's failure report quotes (logLinesOfStuckOrders).
	t.Setenv("LOG_LEVEL", "debug")
	st := devstacktest.Start(t, bin, stackName)
	cfg := shortProfile
	cfg.dir, cfg.pgPassword, cfg.seed = st.Dir, "postgres", time.Now().UnixNano()%1_000_000
	var out servicetest.LogBuffer
	err := run(t.Context(), cfg, &out)
	t.Logf("chaos output:\n%s", out.String())
	if err != nil {
		t.Fatalf("chaos run: %v\n%s\nstack output:\n%s", err, logLinesOfStuckOrders(st.Dir, out.String()), st.Tail(20000))
	}
	for _, want := range []string{"kill -9 " + relay, "kill -9 order", "kill -9 payment", "kill -9 inventory",
		"postgres  immediate shutdown", "broker    stopped", "broker    resumed", "poison    ", "http      ",
		"all 30 records dead-lettered", "PASSED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the run's output has no %q", want)
		}
	}
	state, err := (&stackstate.Stack{Dir: st.Dir}).State()
	if err != nil {
		t.Fatal(err)
	}
	restarts := map[string]int{}
	for _, c := range state.Components {
		restarts[c.Name] = c.Restarts
	}
	for _, name := range []string{relay, "order", "payment", "inventory", "postgres"} {
		if restarts[name] < 1 {
			t.Errorf("%s was restarted %d times, want at least 1 (restarts: %v)", name, restarts[name], restarts)
		}
	}
	st.Stop(t)
}

// logLinesOfStuckOrders returns every log line of the stack in dir that
// names an order the run's output reports stuck, to tell where it stopped.
func logLinesOfStuckOrders(dir, output string) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`stuck-order order ([0-9a-f-]{36})`).FindAllStringSubmatch(output, 3) {
		fmt.Fprintf(&b, "log lines naming stuck order %s:\n", m[1])
		logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
		for _, path := range logs {
			raw, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			for line := range strings.SplitSeq(string(raw), "\n") {
				if strings.Contains(line, m[1]) {
					fmt.Fprintf(&b, "  %s: %s\n", filepath.Base(path), line)
				}
			}
		}
	}
	return b.String()
}

func TestSchedule(t *testing.T) {
	cfg := fullProfile
	a := schedule(cfg, "connect", rand.New(rand.NewPCG(7, 2)))
	b := schedule(cfg, "connect", rand.New(rand.NewPCG(7, 2)))
	count := map[string]int{}
	for i, f := range a {
		if f != b[i] {
			t.Fatalf("the same seed gave different schedules at %d: %+v and %+v", i, f, b[i])
		}
		if f.at < cfg.duration/10 || f.at > cfg.duration*8/10 {
			t.Errorf("fault %+v outside the middle of the load", f)
		}
		if i > 0 && f.at < a[i-1].at {
			t.Errorf("schedule not in time order at %d", i)
		}
		count[f.kind+" "+f.target]++
	}
	want := map[string]int{"kill connect": 5, "kill order": 3, "kill payment": 3, "kill inventory": 3,
		"postgres postgres": 1, "broker kafka": 1, "poison ": 1, "http ": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%q scheduled %d times, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if len(a) != 18 {
		t.Errorf("%d faults, want 18", len(a))
	}
}

func TestParseConfig(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"DEV_DIR": "/tmp/x"}[k] }
	for _, tc := range []struct {
		name  string
		args  []string
		check func(config) bool
		bad   bool
	}{
		{"full by default", nil, func(c config) bool { return c.relayKills == 5 && c.poison == 1000 && c.dir == "/tmp/x" }, false},
		{"short", []string{"-short"}, func(c config) bool { return c.relayKills == 1 && c.duration == shortProfile.duration }, false},
		{"overrides", []string{"-short", "-rate", "50", "-poison", "0", "-seed", "9"}, func(c config) bool {
			return c.rate == 50 && c.poison == 0 && c.seed == 9 && c.serviceKills == 1
		}, false},
		{"unknown flag", []string{"-nope"}, nil, true},
		{"stray argument", []string{"now"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, getenv)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if !tc.bad && !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}
