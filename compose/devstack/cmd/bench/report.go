package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// result is one reader's measurements. A negative first, ready or
// brokerCPU means the figure does not apply to that reader.
type result struct {
	name   string
	events int
	// drain is from connector registration (process start for
	// pg_recvlogical) to the whole backlog acknowledged by the broker
	// (written to /dev/null for pg_recvlogical).
	drain time.Duration
	// first is from connector registration to the first record on the
	// broker; ready from process start to its REST API answering.
	first, ready time.Duration
	lat          latencyResult
	// rss is the process's peak resident set size over its whole life.
	rss int64
	// cpuDrain is the process's user plus system CPU during the drain,
	// cpuTotal over its whole life (start-up and latency phase included).
	cpuDrain, cpuTotal float64
	// brokerCPU is the broker's CPU during this reader's drain.
	brokerCPU float64
}

// report is what a run prints.
type report struct {
	cfg                 benchConfig
	loadStart, loadEnd  string
	pgVersion, versions string
	broker              string
	fill                time.Duration
	baseline, walrelay  result
	debezium            *result
	debeziumSkipped     string
}

// row is one line of the table: its figure for a reader, and whether the
// reader has one.
type row struct {
	label  string
	digits int
	value  func(r *result) (float64, bool)
}

var rows = []row{
	{"backlog drain, events/s", 0, func(r *result) (float64, bool) { return float64(r.events) / r.drain.Seconds(), true }},
	{"backlog drain, s", 2, func(r *result) (float64, bool) { return r.drain.Seconds(), true }},
	{"drain after first record, events/s", 0, func(r *result) (float64, bool) {
		return float64(r.events) / (r.drain - r.first).Seconds(), r.first >= 0
	}},
	{"registration to first record, ms", 0, func(r *result) (float64, bool) { return ms(r.first), r.first >= 0 }},
	{"commit-to-consume p50, ms", 1, func(r *result) (float64, bool) { return ms(r.lat.p50), r.lat.received > 0 }},
	{"commit-to-consume p99, ms", 1, func(r *result) (float64, bool) { return ms(r.lat.p99), r.lat.received > 0 }},
	{"peak RSS, MB", 1, func(r *result) (float64, bool) { return float64(r.rss) / (1 << 20), r.rss > 0 }},
	{"CPU s, backlog drain", 2, func(r *result) (float64, bool) { return r.cpuDrain, true }},
	{"CPU s, whole process", 2, func(r *result) (float64, bool) { return r.cpuTotal, true }},
	{"process start to REST ready, s", 2, func(r *result) (float64, bool) { return r.ready.Seconds(), r.ready >= 0 }},
	{"broker CPU s during the drain", 2, func(r *result) (float64, bool) { return r.brokerCPU, r.brokerCPU >= 0 }},
}

func (rep *report) print(out io.Writer) {
	cfg := rep.cfg
	fmt.Fprintln(out)
	fmt.Fprintf(out, "command: %s\n", rep.command())
	fmt.Fprintf(out, "machine: %d CPUs, %s/%s, %s, PostgreSQL %s; load average %s at start, %s at end\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), rep.pgVersion, rep.loadStart, rep.loadEnd)
	fmt.Fprintf(out, "broker: %s, one for both relays; acks=all\n", rep.broker)
	if rep.versions != "" {
		fmt.Fprintf(out, "jvm: %s\n", rep.versions)
	}
	fmt.Fprintf(out, "backlog: %d outbox inserts, one per transaction, filled in %s by 8 clients, behind one slot per reader\n",
		cfg.events, rep.fill.Round(time.Millisecond))
	fmt.Fprintf(out, "latency phases: %d inserts/s for %s, one per reader, achieved %s\n",
		cfg.rate, cfg.duration, rep.achievedRates())
	fmt.Fprintf(out, "connector: %s for both relays, with %s set per relay\n",
		connectorFile, strings.Join(connectorOverrides, ", "))
	if len(cfg.set) > 0 {
		var kvs []string
		for _, kv := range cfg.set {
			kvs = append(kvs, kv[0]+"="+kv[1])
		}
		fmt.Fprintf(out, "connector settings added for both relays (-set): %s\n", strings.Join(kvs, ", "))
	}
	fmt.Fprintln(out, "order: pg_recvlogical drain, walrelay (drain, latency), Debezium (drain, latency), pg_recvlogical latency; never two at once")
	fmt.Fprintln(out)

	readers := []*result{&rep.walrelay}
	header := []string{"", "walrelay"}
	if rep.debezium != nil {
		readers = append(readers, rep.debezium)
		header = append(header, "Debezium")
	}
	readers = append(readers, &rep.baseline)
	header = append(header, "pg_recvlogical")
	if rep.debezium != nil {
		header = append(header, "walrelay/Debezium")
	} else {
		header = append(header, "Debezium")
	}
	table := [][]string{header}
	for _, rw := range rows {
		cells := []string{rw.label}
		vals := make([]float64, len(readers))
		has := make([]bool, len(readers))
		for i, r := range readers {
			vals[i], has[i] = rw.value(r)
			if has[i] {
				cells = append(cells, fmt.Sprintf("%.*f", rw.digits, vals[i]))
			} else {
				cells = append(cells, "-")
			}
		}
		switch {
		case rep.debezium == nil:
			cells = append(cells, "skipped")
		case has[0] && has[1] && vals[1] != 0:
			cells = append(cells, fmt.Sprintf("%.2f", vals[0]/vals[1]))
		default:
			cells = append(cells, "-")
		}
		table = append(table, cells)
	}
	printTable(out, table)
	fmt.Fprintln(out)

	if rep.debezium == nil {
		fmt.Fprintf(out, "Debezium %s\n", rep.debeziumSkipped)
	}
	fmt.Fprintf(out, "walrelay / pg_recvlogical backlog drain: %.2f (target >= 0.60); walrelay peak RSS target <= 64 MB; p99 target <= 20 ms\n",
		rep.baseline.drain.Seconds()/rep.walrelay.drain.Seconds())
	fmt.Fprintln(out, "drain: registration to the last backlog record acknowledged (end offsets on the broker); pg_recvlogical: process start to exit at the backlog's end LSN, into /dev/null")
	fmt.Fprintln(out, "latency: COMMIT returned to the record polled by a Kafka consumer (pg_recvlogical: to its pgoutput message read from its stdout)")
	fmt.Fprintln(out, "RSS: VmHWM of the relay's own process (Debezium: the Kafka Connect JVM); CPU: utime+stime from /proc/<pid>/stat, all threads")
}

// command is the command line that reproduces this run.
func (rep *report) command() string {
	args := make([]string, len(rep.cfg.args))
	for i, a := range rep.cfg.args {
		args[i] = shellQuote(a)
	}
	cmd := strings.Join(append([]string{"go run ./compose/devstack/cmd/bench"}, args...), " ")
	mk := "make bench"
	if len(args) > 0 {
		mk += " BENCH_FLAGS=" + shellQuote(strings.Join(rep.cfg.args, " "))
	}
	return fmt.Sprintf("%s   (= %s; -events %d -rate %d -duration %s -debezium=%t)",
		cmd, mk, rep.cfg.events, rep.cfg.rate, rep.cfg.duration, rep.cfg.debezium)
}

func (rep *report) achievedRates() string {
	parts := []string{fmt.Sprintf("walrelay %.0f/s", rep.walrelay.lat.rate)}
	if rep.debezium != nil {
		parts = append(parts, fmt.Sprintf("Debezium %.0f/s", rep.debezium.lat.rate))
	}
	parts = append(parts, fmt.Sprintf("pg_recvlogical %.0f/s", rep.baseline.lat.rate))
	var samples []string
	for _, r := range []*result{&rep.walrelay, rep.debezium, &rep.baseline} {
		if r != nil {
			samples = append(samples, fmt.Sprintf("%d/%d", r.lat.received, r.lat.inserted))
		}
	}
	return strings.Join(parts, ", ") + "; events received/inserted " + strings.Join(samples, ", ")
}

// printTable prints the first column left-aligned and the others
// right-aligned, each as wide as its widest cell.
func printTable(out io.Writer, table [][]string) {
	width := make([]int, len(table[0]))
	for _, line := range table {
		for i, c := range line {
			width[i] = max(width[i], len(c))
		}
	}
	for _, line := range table {
		var b strings.Builder
		for i, c := range line {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(&b, "   %*s", width[i], c)
			}
		}
		fmt.Fprintln(out, b.String())
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
