package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/orderload"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/libs/program"
)

// run measures, prints the table and writes it and the plot to cfg.out.
func run(ctx context.Context, cfg config, w io.Writer) (*report, error) {
	root, err := stackstate.RepoRoot()
	if err != nil {
		return nil, program.Exit(2, err.Error())
	}
	if cfg.start != "" {
		dir, stop, err := startStack(ctx, root, cfg.start, w)
		if err != nil {
			return nil, program.Exit(2, err.Error())
		}
		defer stop()
		cfg.dir = dir
	}
	st, err := stackstate.Find(cfg.dir)
	if err != nil {
		return nil, program.Exit(2, err.Error())
	}
	state, err := st.State()
	if err != nil {
		return nil, program.Exit(2, err.Error())
	}
	addr, socket := map[string]string{}, map[string]string{}
	for _, c := range state.Components {
		addr[c.Name], socket[c.Name] = c.Addr, c.Socket
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	runID := hex.EncodeToString(id)
	fmt.Fprintf(w, "saga benchmark %s against the %s stack in %s\n", runID, state.Stack, st.Dir)
	if socket["postgres"] != "" {
		fmt.Fprintf(w, "  its services reach PostgreSQL through its Unix-domain socket, and so does the database's loop\n")
	}

	// Connections enough for the highest rate: an order takes a few
	// milliseconds when the stack keeps up.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
	api := &orderload.API{Order: addr["order"], Payment: addr["payment"], Inventory: addr["inventory"], Client: client}
	// Funds and stock nothing will run out of: the benchmark measures the
	// saga's happy path.
	world := orderload.NewWorld(runID, 100, 100, 1_000_000_000_000, 100_000_000, mrand.New(mrand.NewPCG(1, 1)))
	if err := api.Seed(ctx, world); err != nil {
		return nil, program.Exit(2, err.Error())
	}
	ordersDSN, err := postgresDSN(addr["postgres"], socket["postgres"], cfg.pgPassword, "orders")
	if err != nil {
		return nil, program.Exit(2, err.Error())
	}
	pool, err := pgxpool.New(ctx, ordersDSN)
	if err != nil {
		return nil, program.Exit(2, err.Error())
	}
	defer pool.Close()
	r := &runner{api: api, world: world, orders: pool, stack: st, rng: mrand.New(mrand.NewPCG(2, 2)), drain: cfg.drain, connect: addr["connect"]}
	if r.connect == "" { // the embedded stack: walrelay serves the same API
		r.connect = addr["walrelay"]
	}

	// The database's own rate and the write path alone first, while the
	// stack is quiet: in turns, each burst of the write path after a slice
	// of the database's loop, both with the orders connector paused.
	var db *dbLoop
	if cfg.db > 0 {
		if db, err = openDBLoop(ctx, ordersDSN, cfg.dbClients); err != nil {
			return nil, err
		}
		defer db.close()
	}
	var steps []stepResult
	var dbCPU map[string]float64
	switch {
	case cfg.writeBursts > 0:
		slice := time.Duration(0)
		if db != nil {
			slice = cfg.db / time.Duration(cfg.writeBursts)
			fmt.Fprintf(w, "  the database's own rate (POST /orders' transaction, %d connections, %s in all) and the write path alone\n"+
				"  (%d bursts of %d orders from %d clients), in turns, the %s connector paused ...\n",
				cfg.dbClients, cfg.db, cfg.writeBursts, cfg.writeOrders, cfg.clients, ordersConnector)
		} else {
			fmt.Fprintf(w, "  the write path alone: %d bursts of %d orders from %d clients, the %s connector paused ...\n",
				cfg.writeBursts, cfg.writeOrders, cfg.clients, ordersConnector)
		}
		res, cpu, err := r.writePath(ctx, cfg.clients, cfg.writeOrders, cfg.writeBursts, db, slice)
		if err != nil {
			return nil, err
		}
		dbCPU = cpu
		if db != nil {
			fmt.Fprintf(w, "    the database: %.0f transactions/s\n", db.rate())
		}
		fmt.Fprintf(w, "    POST %.0f/s (p50 %s, p99 %s ms), %d refused\n", res.postRate, ms(res.postP50), ms(res.postP99), res.failed)
		steps = append(steps, res)
	case db != nil:
		fmt.Fprintf(w, "  the database's own rate: POST /orders' transaction, %d connections for %s ...\n", cfg.dbClients, cfg.db)
		if err := db.run(ctx, cfg.db); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "    %.0f transactions/s\n", db.rate())
	}
	if db != nil {
		db.close() // the scratch tables have no part in the saga's steps
	}
	for i, rate := range cfg.rates {
		fmt.Fprintf(w, "  open loop at %g orders/s for %s ...\n", rate, cfg.step)
		res, err := r.open(ctx, rate, cfg.step)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "    %s\n", res.summary())
		steps = append(steps, res)
		// Past saturation a higher rate only measures a longer queue, and
		// leaves a backlog that would distort the steps after it.
		if res.terminalRate < 0.8*rate && i+1 < len(cfg.rates) {
			fmt.Fprintf(w, "    saturated (%.0f of %g orders/s terminal): the higher rates are skipped\n", res.terminalRate, rate)
			break
		}
	}
	if cfg.closed > 0 {
		fmt.Fprintf(w, "  closed loop, %d clients for %s ...\n", cfg.clients, cfg.closed)
		res, err := r.closedLoop(ctx, cfg.clients, cfg.closed)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "    %s\n", res.summary())
		steps = append(steps, res)
	}
	rep := report{runID: runID, stack: state.Stack, at: time.Now().UTC(), steps: steps, dbClients: cfg.dbClients, cores: runtime.NumCPU()}
	if db != nil {
		rep.dbRate, rep.dbCPU = db.rate(), perOp(dbCPU, db.done)
	}
	var table strings.Builder
	rep.writeTable(&table)
	fmt.Fprintf(w, "\n%s", table.String())
	out := cfg.out
	if out == "" {
		out = filepath.Join(root, ".bench")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(out, "saga-"+rep.at.Format("20060102-150405"))
	if err := os.WriteFile(base+".txt", []byte(table.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".svg", rep.svg(), 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "\nwrote %s.txt and %s.svg\n", base, base)
	return &rep, nil
}

// startStack starts devstack for stack on the standard ports with its state
// in a fresh directory, and returns the directory and how to stop it.
func startStack(ctx context.Context, root, stack string, w io.Writer) (string, func(), error) {
	dir, err := os.MkdirTemp("", "benchsaga-stack-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must reach it
		return "", nil, err
	}
	bin := filepath.Join(dir, "devstack")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./compose/devstack/cmd/devstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("go build devstack: %w\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "devstack.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "STACK="+stack, "DEV_DIR="+filepath.Join(dir, "state"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
		os.RemoveAll(dir)
	}
	fmt.Fprintf(w, "starting the %s stack (log: %s)\n", stack, logf.Name())
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if _, err := stackstate.Find(filepath.Join(dir, "state")); err == nil {
			return filepath.Join(dir, "state"), stop, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			stop()
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			return "", nil, fmt.Errorf("the stack stopped while starting (make dev may hold the standard ports: leave out -start to use it); its log ends:\n%s", log)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("the stack was not ready within 10 minutes")
		}
	}
}

// postgresDSN is the superuser's connection string for db on the stack's
// PostgreSQL at addr, through its Unix-domain socket in socketDir when the
// stack has one: the services connect that way, and the database's loop
// must reach the server as the order service does.
func postgresDSN(addr, socketDir, password, db string) (string, error) {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password), Host: addr, Path: "/" + db, RawQuery: "sslmode=disable"}
	if socketDir == "" {
		return u.String(), nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("postgres address %q: %w", addr, err)
	}
	// Encode writes a space as "+", which libpq and pgx read as a plus.
	q := url.Values{"host": {socketDir}, "port": {port}, "sslmode": {"disable"}}.Encode()
	u.Host, u.RawQuery = "", strings.ReplaceAll(q, "+", "%20")
	return u.String(), nil
}
