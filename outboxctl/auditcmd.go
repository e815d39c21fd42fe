package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/audit"
)

// The defaults reach the stack `make dev` and `make up` start: one
// PostgreSQL on 127.0.0.1:5432 holding the three databases, each owned by
// its service's role (compose/postgres/init.sql), and the broker on
// 127.0.0.1:9092.
const (
	defaultOrdersDB    = "postgres://order_service:order_service@127.0.0.1:5432/orders?sslmode=disable"
	defaultPaymentsDB  = "postgres://payment_service:payment_service@127.0.0.1:5432/payments?sslmode=disable"
	defaultInventoryDB = "postgres://inventory_service:inventory_service@127.0.0.1:5432/inventory?sslmode=disable"
	defaultBrokers     = "127.0.0.1:9092"
	defaultTimeout     = 2 * time.Minute
)

// runAudit is `outboxctl audit`: exit 0 without violations, 1 with, 2 when
// the flags are wrong or something cannot be read.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("outboxctl audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The connection strings default to empty so that -h never prints a
	// password taken from the environment; they are resolved after
	// parsing: flag, then environment variable, then the stack's default.
	ordersDB := fs.String("orders-db", "", "orders database `URL` (default $ORDERS_DATABASE_URL, else the make dev stack's)")
	paymentsDB := fs.String("payments-db", "", "payments database `URL` (default $PAYMENTS_DATABASE_URL, else the make dev stack's)")
	inventoryDB := fs.String("inventory-db", "", "inventory database `URL` (default $INVENTORY_DATABASE_URL, else the make dev stack's)")
	brokers := fs.String("brokers", "", "Kafka bootstrap `addresses`, comma-separated (default $KAFKA_BROKERS, else "+defaultBrokers+")")
	grace := fs.Duration("grace", audit.DefaultGrace, "how long a change may take to reach the next hop before its absence is a violation")
	seedPath := fs.String("seed", "", "JSON `file` of opening balances and stock, {\"accounts\": {\"cust\": cents}, \"stock\": {\"sku\": qty}}, to check the equations")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", defaultTimeout, "give up reading after this long")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintln(out, "usage: outboxctl audit [flags]")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Reads the orders, payments and inventory databases and every record of the outbox topics, and checks")
		fmt.Fprintln(out, "the saga's invariants: orders settle, money and stock balance, every committed event was published,")
		fmt.Fprintln(out, "nothing took effect twice. Exit status 0: no violation, 1: violations, 2: could not run.")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "flags:")
		fs.PrintDefaults()
		fmt.Fprintln(out)
		fmt.Fprintln(out, "the make dev stack's databases:")
		for _, dsn := range []string{defaultOrdersDB, defaultPaymentsDB, defaultInventoryDB} {
			fmt.Fprintln(out, "  "+dsn)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return program.Exit(2, "") // flag printed the error and the usage
	}
	resolve := func(v *string, env, def string) {
		switch {
		case *v != "":
		case getenv(env) != "":
			*v = getenv(env)
		default:
			*v = def
		}
	}
	resolve(ordersDB, "ORDERS_DATABASE_URL", defaultOrdersDB)
	resolve(paymentsDB, "PAYMENTS_DATABASE_URL", defaultPaymentsDB)
	resolve(inventoryDB, "INVENTORY_DATABASE_URL", defaultInventoryDB)
	resolve(brokers, "KAFKA_BROKERS", defaultBrokers)
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *grace < 0 {
		problems = append(problems, fmt.Sprintf("--grace %s is negative", *grace))
	}
	if *timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout %s must be positive", *timeout))
	}
	var brokerList []string
	for b := range strings.SplitSeq(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokerList = append(brokerList, b)
		}
	}
	if len(brokerList) == 0 {
		problems = append(problems, "--brokers is empty")
	}
	if len(problems) > 0 {
		return program.Exit(2, "audit: "+strings.Join(problems, "; "))
	}
	cfg := audit.Config{
		OrdersDB: *ordersDB, PaymentsDB: *paymentsDB, InventoryDB: *inventoryDB,
		Brokers: brokerList, Grace: *grace,
	}
	if *seedPath != "" {
		seed, err := audit.ReadSeed(*seedPath)
		if err != nil {
			return program.Exit(2, "audit: "+err.Error())
		}
		cfg.Seed = seed
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := audit.Run(ctx, cfg)
	if err != nil {
		return program.Exit(2, "audit: "+err.Error())
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.Write(stdout)
	}
	if err != nil {
		return program.Exit(2, "audit: writing the report: "+err.Error())
	}
	if n := len(rep.Found); n > 0 {
		return program.Exit(1, fmt.Sprintf("audit: %d violation(s)", n))
	}
	return nil
}
