package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// runMainEnv makes the test binary behave as outboxctl itself, so that
// testBinary checks real exit statuses without building another binary.
const runMainEnv = "OUTBOXCTL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	// pgtest skips on a machine without PostgreSQL; these tests must fail
	// there instead.
	if _, err := pgcluster.FindBinDir(); err != nil {
		fmt.Fprintln(os.Stderr, "outboxctl tests need PostgreSQL:", err)
		os.Exit(1)
	}
	pgtest.Main(m)
}

// runCmd calls run with args and no environment, and returns the exit
// status and what was printed, the error's line on stderr included, as
// main prints it.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
	if err != nil && err.Error() != "" {
		fmt.Fprintf(&errOut, "outboxctl: %s\n", err)
	}
	return exitCode(err), out.String(), errOut.String()
}

// dbFlags are the flags that point a command at env.
func dbFlags(env *fixture.Env) []string {
	return []string{"--orders-db", env.OrdersDB, "--payments-db", env.PaymentsDB, "--inventory-db", env.InventoryDB,
		"--brokers", env.Broker}
}

// exitCode is the status program.Main exits with for err.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return 1
}

// stacks are a consistent system and the same with one event lost.
type stacks struct{ good, lost *fixture.Env }

func newStacks(t *testing.T) stacks {
	t.Helper()
	pool := fixture.NewPool(t, 2)
	good := fixture.Standard(time.Now())
	goodEnv := pool.Env(t)
	good.Write(t, goodEnv)
	lost := fixture.Standard(time.Now())
	lost.Remove(lost.Confirmed, events.TypeOrderConfirmed)
	lostEnv := pool.Env(t)
	lost.Write(t, lostEnv)
	return stacks{good: goodEnv, lost: lostEnv}
}

func flags(env *fixture.Env, more ...string) []string {
	return append([]string{"audit", "--orders-db", env.OrdersDB, "--payments-db", env.PaymentsDB,
		"--inventory-db", env.InventoryDB, "--brokers", env.Broker}, more...)
}

func writeSeed(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"accounts": fixture.SeedAccounts, "stock": fixture.SeedStock})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCommand runs the command on real databases and a real broker, as
// main does and as a process, and checks the exit status and what it
// prints.
func TestCommand(t *testing.T) {
	t.Parallel()
	st := newStacks(t)
	seed := writeSeed(t)
	t.Run("run", func(t *testing.T) { testRun(t, st, seed) })
	t.Run("binary", func(t *testing.T) { testBinary(t, st, seed) })
}

// testRun calls run, main's body.
func testRun(t *testing.T, st stacks, seed string) {
	noEnv := func(string) string { return "" }
	deadPG := "postgres://postgres:postgres@" + closedAddr(t) + "/orders?sslmode=disable"
	for _, tc := range []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: []string{"usage: outboxctl <command>", "audit", "order", "lag", "dlq"}},
		{name: "help", args: []string{"help"}, wantStdout: []string{"usage: outboxctl <command>", "audit", "order", "lag", "dlq"}},
		{name: "help audit", args: []string{"help", "audit"}, wantStdout: []string{"usage: outboxctl audit", "-grace", "-seed", "-json"}},
		{name: "audit -h", args: []string{"audit", "-h"}, wantStderr: []string{"usage: outboxctl audit"}},
		{name: "unknown command", args: []string{"rewind"}, wantCode: 2, wantStderr: []string{`unknown command "rewind"`}},
		{name: "unknown flag", args: []string{"audit", "--nope"}, wantCode: 2, wantStderr: []string{"flag provided but not defined: -nope"}},
		{name: "stray argument", args: []string{"audit", "orders"}, wantCode: 2},
		{name: "negative grace", args: flags(st.good, "--grace", "-1s"), wantCode: 2},
		{name: "missing seed file", args: flags(st.good, "--seed", filepath.Join(t.TempDir(), "none.json")), wantCode: 2},
		{name: "unreachable database", args: flags(st.good, "--orders-db", deadPG), wantCode: 2},
		{name: "unreachable broker", args: flags(st.good, "--brokers", closedAddr(t), "--timeout", "3s"), wantCode: 2},
		{name: "consistent", args: flags(st.good, "--seed", seed), wantStdout: []string{"no violations", "outbox.event.order", "CONFIRMED"}},
		{
			name:       "consistent, from the environment",
			args:       []string{"audit"},
			env:        map[string]string{"ORDERS_DATABASE_URL": st.good.OrdersDB, "PAYMENTS_DATABASE_URL": st.good.PaymentsDB, "INVENTORY_DATABASE_URL": st.good.InventoryDB, "KAFKA_BROKERS": st.good.Broker},
			wantStdout: []string{"no violations"},
		},
		{
			name:       "lost event",
			args:       flags(st.lost, "--seed", seed),
			wantCode:   1,
			wantStdout: []string{"lost-event", "OrderConfirmed not on outbox.event.order"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := noEnv
			if tc.env != nil {
				getenv = func(k string) string { return tc.env[k] }
			}
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, getenv, &stdout, &stderr)
			if code := exitCode(err); code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", code, err, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), flags(st.lost, "--json", "--seed", seed), noEnv, &stdout, &stderr)
		if code := exitCode(err); code != 1 {
			t.Fatalf("exit %d (%v), want 1; stderr %s", code, err, stderr.String())
		}
		var rep struct {
			OK         bool           `json:"ok"`
			ByKind     map[string]int `json:"violationsByKind"`
			Violations []struct {
				Kind, Subject, Detail string
			} `json:"violations"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
		if rep.OK || len(rep.Violations) != 1 || rep.Violations[0].Kind != "lost-event" || rep.ByKind["lost-event"] != 1 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

// testBinary runs the test binary as outboxctl (see TestMain) and checks
// the process's exit status: 0, 1 and 2.
func testBinary(t *testing.T, st stacks, seed string) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"consistent", flags(st.good, "--seed", seed), 0},
		{"violations", flags(st.lost, "--seed", seed), 1},
		{"usage", []string{"audit", "--grace", "soon"}, 2},
		{"unknown command", []string{"rewind"}, 2},
		{"no such order", append([]string{"order", "00000000-0000-4000-8000-000000000000"}, dbFlags(st.good)...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], tc.args...)
			cmd.Env = append(os.Environ(), runMainEnv+"=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if exit, ok := errors.AsType[*exec.ExitError](err); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if tc.wantCode == 1 && !strings.Contains(stderr.String(), "outboxctl: audit: 1 violation(s)") {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}
}
