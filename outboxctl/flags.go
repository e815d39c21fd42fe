package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
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
	// defaultJaeger is Jaeger's query API as the Jaeger of the dev stack
	// serves it.
	defaultJaeger = "http://127.0.0.1:16686"
)

// connFlags are the flags that say where the stack is, the same for every
// command: --orders-db, --payments-db and --inventory-db (for a command that
// reads the databases), --brokers and --timeout.
type connFlags struct {
	databases                         bool
	ordersDB, paymentsDB, inventoryDB string
	brokers                           string
	timeout                           time.Duration
}

// addConnFlags defines the connection flags on fs; databases says whether
// the command reads the databases. timeout is the command's default
// --timeout.
func addConnFlags(fs *flag.FlagSet, databases bool, timeout time.Duration) *connFlags {
	c := &connFlags{databases: databases}
	// The connection strings default to empty so that -h never prints a
	// password taken from the environment; config resolves them after
	// parsing: flag, then environment variable, then the stack's default.
	if databases {
		fs.StringVar(&c.ordersDB, "orders-db", "", "orders database `URL` (default $ORDERS_DATABASE_URL, else the make dev stack's)")
		fs.StringVar(&c.paymentsDB, "payments-db", "", "payments database `URL` (default $PAYMENTS_DATABASE_URL, else the make dev stack's)")
		fs.StringVar(&c.inventoryDB, "inventory-db", "", "inventory database `URL` (default $INVENTORY_DATABASE_URL, else the make dev stack's)")
	}
	fs.StringVar(&c.brokers, "brokers", "", "Kafka bootstrap `addresses`, comma-separated (default $KAFKA_BROKERS, else "+defaultBrokers+")")
	fs.DurationVar(&c.timeout, "timeout", timeout, "give up after this long")
	return c
}

// config resolves the flags into a stack.Config and lists what is wrong
// with them.
func (c *connFlags) config(getenv func(string) string) (stack.Config, []string) {
	resolve := func(v, env, def string) string { return fromEnv(getenv, v, env, def) }
	var cfg stack.Config
	var problems []string
	if c.databases {
		cfg.OrdersDB = resolve(c.ordersDB, "ORDERS_DATABASE_URL", defaultOrdersDB)
		cfg.PaymentsDB = resolve(c.paymentsDB, "PAYMENTS_DATABASE_URL", defaultPaymentsDB)
		cfg.InventoryDB = resolve(c.inventoryDB, "INVENTORY_DATABASE_URL", defaultInventoryDB)
	}
	for b := range strings.SplitSeq(resolve(c.brokers, "KAFKA_BROKERS", defaultBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.Brokers = append(cfg.Brokers, b)
		}
	}
	if len(cfg.Brokers) == 0 {
		problems = append(problems, "--brokers is empty")
	}
	if c.timeout <= 0 {
		problems = append(problems, fmt.Sprintf("--timeout %s must be positive", c.timeout))
	}
	return cfg, problems
}

// fromEnv resolves a flag's value v: v when set, else the environment
// variable env when set, else def.
func fromEnv(getenv func(string) string, v, env, def string) string {
	switch {
	case v != "":
		return v
	case getenv(env) != "":
		return getenv(env)
	}
	return def
}

// jaegerFlag is --jaeger, where Jaeger's query API is.
type jaegerFlag struct{ url string }

// addJaegerFlag defines --jaeger on fs. Like the connection strings it
// defaults to empty and is resolved after parsing.
func addJaegerFlag(fs *flag.FlagSet) *jaegerFlag {
	j := &jaegerFlag{}
	fs.StringVar(&j.url, "jaeger", "", "Jaeger query API `URL` (default $JAEGER_URL, else "+defaultJaeger+")")
	return j
}

// resolve returns the flag's URL (flag, then $JAEGER_URL, then
// defaultJaeger) and what is wrong with it.
func (j *jaegerFlag) resolve(getenv func(string) string) (string, []string) {
	v := fromEnv(getenv, j.url, "JAEGER_URL", defaultJaeger)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		from := "--jaeger"
		if j.url == "" {
			from = "$JAEGER_URL"
		}
		return v, []string{fmt.Sprintf("%s %q is not an http(s) URL", from, v)}
	}
	return v, nil
}

// newFlagSet returns the flag set of `outboxctl <name>`. Its usage prints
// synopsis, the lines of about, the flags and, for a command that reads
// the databases, the stack's default connection strings.
func newFlagSet(name, synopsis string, about []string, databases bool, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("outboxctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintln(out, "usage: outboxctl "+synopsis)
		fmt.Fprintln(out)
		for _, line := range about {
			fmt.Fprintln(out, line)
		}
		fmt.Fprintln(out)
		fmt.Fprintln(out, "flags:")
		fs.PrintDefaults()
		if databases {
			fmt.Fprintln(out)
			fmt.Fprintln(out, "the make dev stack's databases:")
			for _, dsn := range []string{defaultOrdersDB, defaultPaymentsDB, defaultInventoryDB} {
				fmt.Fprintln(out, "  "+dsn)
			}
		}
	}
	return fs
}

// errHelp is returned by parse after -h printed the usage: the command
// ends with status 0.
var errHelp = errors.New("help printed")

// parse parses args with fs, letting flags and arguments come in any
// order (`outboxctl order <id> --json`), and returns the arguments. Bad
// flags end the command with status 2, after flag printed why; -h ends it
// with errHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, program.Exit(2, "")
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageError ends command name with status 2 and the problems in one line.
func usageError(name string, problems []string) error {
	return program.Exit(2, name+": "+strings.Join(problems, "; "))
}

// helpOr turns errHelp into success and passes any other error on.
func helpOr(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
