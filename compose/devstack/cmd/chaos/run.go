package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/orderload"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/audit"
)

// run makes one chaos run against the stack and reports it on w.
func run(ctx context.Context, cfg config, w io.Writer) error {
	st, err := stackstate.Find(cfg.dir)
	if err != nil {
		return program.Exit(2, err.Error())
	}
	state, err := st.State()
	if err != nil {
		return program.Exit(2, err.Error())
	}
	addr := map[string]string{}
	for _, c := range state.Components {
		addr[c.Name] = c.Addr
	}
	relay, err := st.Relay()
	if err != nil {
		return program.Exit(2, err.Error())
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	runID := hex.EncodeToString(id)

	out := &reporter{w: w, start: time.Now()}
	fmt.Fprintf(w, "chaos run %s against the %s stack in %s, seed %d: %.0f orders/s for %s\n",
		runID, state.Stack, st.Dir, cfg.seed, cfg.rate, cfg.duration)

	a := &orderload.API{
		Order: addr["order"], Payment: addr["payment"], Inventory: addr["inventory"],
		Client: &http.Client{Timeout: 10 * time.Second}, RetryFor: 3 * time.Minute,
	}
	world := newWorld(runID, cfg, mrand.New(mrand.NewPCG(uint64(cfg.seed), 1)))
	if err := a.Seed(ctx, world); err != nil {
		return program.Exit(2, err.Error())
	}
	brokers := []string{addr["kafka"]}
	kafka, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordRetries(1000), kgo.RequestRetries(1000))
	if err != nil {
		return program.Exit(2, err.Error())
	}
	defer kafka.Close()
	pr := &probes{run: runID, kafka: kafka, brokers: brokers, client: a.Client, service: map[string]string{
		"order": hostPort(addr["order"]), "payment": hostPort(addr["payment"]), "inventory": hostPort(addr["inventory"]),
	}}
	in := &injector{stack: st, cfg: cfg, out: out, probes: pr}
	faults := schedule(cfg, relay, mrand.New(mrand.NewPCG(uint64(cfg.seed), 2)))

	out.start = time.Now()
	out.printf("load     %d orders from %d customers over %d SKUs; %d faults scheduled", int(cfg.rate*cfg.duration.Seconds()), cfg.customers, cfg.skus, len(faults))
	var faultsDone sync.WaitGroup
	faultsDone.Add(1)
	go func() {
		defer faultsDone.Done()
		in.runAll(ctx, faults, out.start)
	}()
	res := load(ctx, a, cfg, world, mrand.New(mrand.NewPCG(uint64(cfg.seed), 3)))
	out.printf("load     done: %d orders accepted, %d refused, %d never answered", len(res.accepted), len(res.refused), len(res.gaveUp))
	faultsDone.Wait()
	pr.finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// Quiescence: every component back, every accepted order terminal,
	// every poison record dead-lettered.
	var violations []string
	for _, c := range state.Components {
		in.waitBack(ctx, c.Name) // a component that does not come back is a violation
	}
	ordersDSN := fmt.Sprintf("postgres://postgres:%s@%s/orders?sslmode=disable", cfg.pgPassword, addr["postgres"])
	if err := waitTerminal(ctx, ordersDSN, res, cfg.quiesce, out); err != nil {
		violations = append(violations, err.Error())
	}
	if err := eventually(ctx, cfg.quiesce, pr.checkDeadLetters); err != nil {
		violations = append(violations, "poison records: "+err.Error())
	} else if len(pr.poisoned) > 0 {
		out.printf("poison   all %d records dead-lettered with a reason by the groups that read them", len(pr.poisoned))
	}
	out.printf("quiet    auditing")

	report, err := audit.Run(ctx, audit.Config{
		OrdersDB:    ordersDSN,
		PaymentsDB:  fmt.Sprintf("postgres://postgres:%s@%s/payments?sslmode=disable", cfg.pgPassword, addr["postgres"]),
		InventoryDB: fmt.Sprintf("postgres://postgres:%s@%s/inventory?sslmode=disable", cfg.pgPassword, addr["postgres"]),
		Brokers:     brokers,
		Grace:       cfg.grace,
		Seed:        &audit.Seed{Accounts: world.Accounts, Stock: world.Stock},
	})
	if err != nil {
		return program.Exit(2, "audit: "+err.Error())
	}

	for _, r := range res.refused {
		violations = append(violations, "order refused: "+r)
	}
	for _, r := range res.gaveUp {
		violations = append(violations, "order never answered: "+r)
	}
	violations = append(violations, in.violations...)
	violations = append(violations, pr.violations...)

	fmt.Fprintln(w)
	_ = report.Write(w)
	fmt.Fprintln(w)
	restarts := 0
	if after, err := st.State(); err == nil {
		for _, c := range after.Components {
			restarts += c.Restarts
		}
	}
	fmt.Fprintf(w, "chaos: %d faults, %d restarts by the supervisor, %d orders accepted, %d poison records, %d malformed requests answered while the service restarted\n",
		len(faults), restarts, len(res.accepted), len(pr.poisoned), pr.unreachable)
	for i, v := range violations {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more\n", len(violations)-20)
			break
		}
		fmt.Fprintf(w, "  VIOLATION %s\n", v)
	}
	auditBad := len(report.Violations())
	if len(violations) > 0 || auditBad > 0 {
		return program.Exit(1, fmt.Sprintf("chaos run %s (seed %d) FAILED: %d violations found by the run, %d by the auditor",
			runID, cfg.seed, len(violations), auditBad))
	}
	fmt.Fprintf(w, "chaos run %s (seed %d) PASSED: nothing lost, no duplicate effect, every order terminal\n", runID, cfg.seed)
	return nil
}

// waitTerminal waits until every accepted order is in the orders database
// and none of the run's orders is PENDING.
func waitTerminal(ctx context.Context, dsn string, res *loadResult, within time.Duration, out *reporter) error {
	ids := make([]string, 0, len(res.accepted))
	for _, id := range res.accepted {
		ids = append(ids, id)
	}
	var last string
	err := eventually(ctx, within, func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var found, pending, confirmed, cancelled int
		err = conn.QueryRow(ctx, `
			SELECT count(*),
			       count(*) FILTER (WHERE status = 'PENDING'),
			       count(*) FILTER (WHERE status = 'CONFIRMED'),
			       count(*) FILTER (WHERE status = 'CANCELLED')
			  FROM orders WHERE id = ANY($1::uuid[])`, ids).Scan(&found, &pending, &confirmed, &cancelled)
		if err != nil {
			return err
		}
		last = fmt.Sprintf("%d of %d accepted orders found: %d confirmed, %d cancelled, %d pending", found, len(ids), confirmed, cancelled, pending)
		if found != len(ids) || pending > 0 {
			return fmt.Errorf("%s", last)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("orders not settled within %s: %w", within, err)
	}
	out.printf("settled  %s", last)
	return nil
}

// eventually polls check until it returns nil, within a deadline.
func eventually(ctx context.Context, within time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

func hostPort(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
}
