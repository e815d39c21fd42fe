package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

type config struct {
	dir        string // the stack's state directory ("" finds it)
	start      string // a stack to start instead: embedded, kafka or debezium
	pgPassword string
	out        string // directory for the table and the plot

	rates     []float64     // open-loop steps, orders per second
	step      time.Duration // length of each step
	clients   int           // closed-loop clients
	closed    time.Duration // length of the closed-loop step
	drain     time.Duration // longest wait for a step's orders to settle
	dbClients int           // connections of the database's own loop
	db        time.Duration // length of the database's own loop

	writeOrders int // orders per burst of the write-path step
	writeBursts int // bursts of the write-path step (0 skips it)
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("benchsaga", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	rates := fs.String("rates", "50,100,200,400,800", "open-loop steps, orders per second")
	fs.StringVar(&c.dir, "dir", "", "the stack's state directory (default: the running make dev / make up stack)")
	fs.StringVar(&c.start, "start", "", "start this stack (embedded, kafka or debezium) on the standard ports for the run instead")
	fs.StringVar(&c.out, "out", "", "directory for saga-<time>.txt and .svg (default .bench at the repository root)")
	fs.DurationVar(&c.step, "step", 30*time.Second, "length of each open-loop step")
	fs.IntVar(&c.clients, "clients", 32, "closed-loop clients")
	fs.DurationVar(&c.closed, "closed", 30*time.Second, "length of the closed-loop step (0 skips it)")
	fs.DurationVar(&c.drain, "drain", 3*time.Minute, "longest wait after a step for its orders to settle")
	fs.IntVar(&c.dbClients, "db-clients", 16, "connections of the database's own loop")
	fs.DurationVar(&c.db, "db", 10*time.Second, "length of the database's own loop (0 skips it)")
	fs.IntVar(&c.writeOrders, "write-orders", 800, "orders per burst of the write-path step (keep under the order service's MAX_BACKLOG)")
	fs.IntVar(&c.writeBursts, "write-bursts", 3, "bursts of the write-path step, POST /orders with the orders connector paused (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("%w (flags: -rates -step -clients -closed -drain -db-clients -db -write-orders -write-bursts -dir -start -out)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return config{}, fmt.Errorf("-rates: %q is not a positive number", f)
		}
		c.rates = append(c.rates, r)
	}
	switch c.start {
	case "", "embedded", "kafka", "debezium":
	default:
		return config{}, fmt.Errorf("-start %q: want embedded, kafka or debezium", c.start)
	}
	if c.step <= 0 || c.clients < 1 || c.dbClients < 1 || c.closed < 0 || c.db < 0 || c.writeOrders < 1 || c.writeBursts < 0 {
		return config{}, fmt.Errorf("-step must be positive, -clients, -db-clients and -write-orders at least 1, -closed, -db and -write-bursts not negative")
	}
	if c.dir == "" {
		c.dir = getenv("DEV_DIR")
	}
	c.pgPassword = getenv("POSTGRES_PASSWORD")
	if c.pgPassword == "" {
		c.pgPassword = "postgres"
	}
	return c, nil
}
