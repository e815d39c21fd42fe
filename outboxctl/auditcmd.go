package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/audit"
)

// runAudit is `outboxctl audit`: exit 0 without violations, 1 with, 2 when
// the flags are wrong or something cannot be read.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", "audit [flags]", []string{
		"Reads the orders, payments and inventory databases and every record of the outbox topics, and checks",
		"the saga's invariants: orders settle, money and stock balance, every committed event was published,",
		"nothing took effect twice. Exit status 0: no violation, 1: violations, 2: could not run.",
	}, true, stderr)
	conn := addConnFlags(fs, true, 2*time.Minute)
	grace := fs.Duration("grace", audit.DefaultGrace, "how long a change may take to reach the next hop before its absence is a violation")
	seedPath := fs.String("seed", "", "JSON `file` of opening balances and stock, {\"accounts\": {\"cust\": cents}, \"stock\": {\"sku\": qty}}, to check the equations")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return helpOr(err)
	}
	st, problems := conn.config(getenv)
	if len(rest) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", rest))
	}
	if *grace < 0 {
		problems = append(problems, fmt.Sprintf("--grace %s is negative", *grace))
	}
	if len(problems) > 0 {
		return usageError("audit", problems)
	}
	cfg := audit.Config{
		OrdersDB: st.OrdersDB, PaymentsDB: st.PaymentsDB, InventoryDB: st.InventoryDB,
		Brokers: st.Brokers, Grace: *grace,
	}
	if *seedPath != "" {
		seed, err := audit.ReadSeed(*seedPath)
		if err != nil {
			return program.Exit(2, "audit: "+err.Error())
		}
		cfg.Seed = seed
	}

	ctx, cancel := context.WithTimeout(ctx, conn.timeout)
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
