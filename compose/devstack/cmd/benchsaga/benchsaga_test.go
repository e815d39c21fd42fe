package main

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/orderload"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/testkit/devstacktest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0.5, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.1, 1 * time.Millisecond},
	} {
		if got := quantile(tc.in, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %g) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

// TestReport checks the verdicts against the targets and that the plot is
// a well-formed SVG with its four series.
func TestReport(t *testing.T) {
	r := report{runID: "r", stack: "embedded", at: time.Now(), dbRate: 1000, dbClients: 16, cores: 2,
		dbCPU: map[string]float64{"postgres": 0.6, "benchsaga": 0.2, "order": 0.001}, steps: []stepResult{
			{name: "write path 32 clients", kind: kindWrite, postRate: 650, posted: 1000, failed: 2,
				cpu: map[string]float64{"postgres": 0.75, "order": 0.4, "benchsaga": 0.15}},
			{name: "open 100/s", kind: kindOpen, offered: 100, postRate: 100, terminalRate: 99, backlog: 3, c2tP50: 20 * time.Millisecond, c2tP99: 90 * time.Millisecond,
				posted: 3000, writeTx: 18150, cpu: map[string]float64{"postgres": 20, "order": 9.5, "benchsaga": 4}},
			{name: "open 400/s", kind: kindOpen, offered: 400, postRate: 400, terminalRate: 410, backlog: 100, c2tP50: 30 * time.Millisecond, c2tP99: 200 * time.Millisecond,
				posted: 12000, writeTx: 60000, cpu: map[string]float64{"postgres": 30, "order": 20, "benchsaga": 5}},
			{name: "open 800/s", kind: kindOpen, offered: 800, postRate: 700, terminalRate: 500, backlog: 9000, c2tP50: 3 * time.Second, c2tP99: 9 * time.Second,
				posted: 21000, writeTx: 147000},
			{name: "closed 32 clients", kind: kindClosed, postRate: 310, terminalRate: 300, backlog: 5000},
		}}
	var b strings.Builder
	r.writeTable(&b)
	out := b.String()
	for _, want := range []string{
		"without a growing backlog: 410 (open 400/s); target >= 400: met",
		"p50 20 ms (target <= 25), p99 90 ms (target <= 100): met",
		"POST /orders alone (orders connector paused) over the database's rate: 650 / 1000 = 0.65; target >= 0.7: NOT met",
		"to what the saga finishes, over the database's rate: 310 / 1000 = 0.31",
		"open 800/s",
		"db tx/order",
		// The cheapest saga step: 50 CPU seconds (the benchmark's own left
		// out) over 12,000 orders, PostgreSQL's 30 of them, on 2,000 CPU ms
		// a second.
		"CPU per order, lowest at open 400/s: 4.17 ms (postgres 2.50); 2 cores finish at most 480 orders/s at that cost, PostgreSQL alone 800/s; 400/s needs <= 5.00 ms",
		"CPU per transaction: the database's loop 0.80 ms (postgres 0.60, benchsaga 0.20); POST /orders 1.30 ms (order 0.40, postgres 0.75, benchsaga 0.15)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var doc struct {
		XMLName   xml.Name `xml:"svg"`
		Polylines []struct {
			Stroke string `xml:"stroke,attr"`
		} `xml:"polyline"`
	}
	// The write path's row has no saga figures: nothing downstream ran.
	for _, line := range strings.Split(out, "\n") {
		if got, want := strings.Join(strings.Fields(line), " "), "write path 32 clients - 650.0 0 0 2 - - - - - 0 - - 0.4 0.8 0.1"; strings.Contains(got, "write path") && got != want {
			t.Errorf("write path row %q, want %q", got, want)
		}
		// 18,150 transaction ids over 3,000 orders, and 29.5 CPU seconds of
		// the stack's (the benchmark's own left out).
		if strings.Contains(line, "open 100/s") && (!slices.Contains(strings.Fields(line), "6.05") || !slices.Contains(strings.Fields(line), "9.83")) {
			t.Errorf("open 100/s row %q lacks its 6.05 write transactions and 9.83 CPU ms per order", line)
		}
	}
	if err := xml.Unmarshal(r.svg(), &doc); err != nil {
		t.Fatalf("the plot is not well-formed: %v", err)
	}
	if len(doc.Polylines) != 5 { // offered, POST, terminal, p50, p99
		t.Errorf("plot has %d lines, want 5", len(doc.Polylines))
	}
}

// TestRunsAgainstAStack makes a very short run against the embedded stack
// started as make dev starts it, and checks the table and the plot are
// written with every step.
func TestRunsAgainstAStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	st := devstacktest.Start(t, devstacktest.Build(t), "embedded")
	out := t.TempDir()
	cfg, err := parseConfig([]string{"-rates", "10,20", "-step", "2s", "-closed", "2s", "-clients", "4", "-db", "1s", "-db-clients", "2",
		"-write-orders", "30", "-write-bursts", "2", "-dir", st.Dir, "-out", out}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var log servicetest.LogBuffer
	rep, err := run(t.Context(), cfg, &log)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "saga-*"))
	if len(files) != 2 {
		t.Fatalf("wrote %v, want a .txt and a .svg", files)
	}
	table, err := os.ReadFile(strings.TrimSuffix(files[0], filepath.Ext(files[0])) + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"write path 4 clients", "open 10/s", "open 20/s", "closed 4 clients", "database's own rate", "cpu postgres s", "cpu walrelay s", "cpu devstack s", "cpu ms/order",
		"POST /orders alone (orders connector paused)", "CPU per transaction: the database's loop", "CPU per order, lowest at ", "orders/s at that cost"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// Every step placed orders, and they all settled: the write path's
	// too, so its connector was resumed.
	for _, step := range rep.steps {
		if step.posted == 0 || step.unsettled != 0 || step.cpu["postgres"] <= 0 || step.cpuPerOrder() <= 0 {
			t.Errorf("step %s: %d posted, %d left pending, postgres cpu %.2fs, %.2f cpu ms/order", step.name, step.posted, step.unsettled, step.cpu["postgres"], step.cpuPerOrder())
		}
	}
	// An order takes the POST's transaction and a share of the consumers'
	// (one each at low load, fewer as batches form): more than one, and
	// fewer than ten unless something else is counted.
	for _, step := range rep.steps {
		if tx := step.txPerOrder(); step.kind != kindWrite && (tx <= 1 || tx >= 10) {
			t.Errorf("step %s: %.2f write transactions per order, want between 1 and 10", step.name, tx)
		}
	}
	if w, ok := rep.kind(kindWrite); !ok || w.posted != 60 || w.failed != 0 {
		t.Errorf("write path: %+v, want 60 orders in two bursts, none refused", w)
	}

	// A burst that ends with its run (the context cancelled, the connector
	// paused) still resumes the connector.
	state, err := stackstate.Find(st.Dir)
	if err != nil {
		t.Fatal(err)
	}
	sst, err := state.State()
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{api: &orderload.API{Client: http.DefaultClient}, stack: state}
	for _, c := range sst.Components {
		if c.Name == "walrelay" {
			r.connect = c.Addr
		}
	}
	if err := r.setConnector(t.Context(), "pause", "PAUSED"); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, _, err := r.pausedBurst(ended, 1, 1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a burst of a cancelled run returned %v, want context.Canceled", err)
	}
	if status, err := r.connectorStatus(t.Context()); err != nil || !status.is("RUNNING") {
		t.Errorf("after a cancelled burst the %s connector is %+v (%v), want it and its task RUNNING", ordersConnector, status, err)
	}
}

// The database's loop reaches PostgreSQL the way the stack's services do.
func TestPostgresDSN(t *testing.T) {
	tests := []struct {
		name, socketDir string
		wantHost        string
		wantPort        uint16
	}{
		{"TCP", "", "127.0.0.1", 15432},
		{"Unix-domain socket", "/tmp/stack dir/postgres", "/tmp/stack dir/postgres", 15432},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, err := postgresDSN("127.0.0.1:15432", tt.socketDir, "p@ss word", "orders")
			if err != nil {
				t.Fatal(err)
			}
			c, err := pgconn.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			if c.Host != tt.wantHost || c.Port != tt.wantPort || c.Database != "orders" || c.User != "postgres" || c.Password != "p@ss word" {
				t.Errorf("%s: host %q port %d database %q user %q password %q", dsn, c.Host, c.Port, c.Database, c.User, c.Password)
			}
		})
	}
}
