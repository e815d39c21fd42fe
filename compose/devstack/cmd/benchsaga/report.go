package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets on a 2-core machine with everything on one box.
const (
	targetSaturation = 400.0                  // orders terminal per second, no growing backlog
	targetP99At100   = 100 * time.Millisecond // create to terminal at 100 orders/s
	targetP50At100   = 25 * time.Millisecond
	targetDBRatio    = 0.7 // POST /orders rate over the database's own rate
)

type report struct {
	runID, stack string
	at           time.Time
	steps        []stepResult
	dbRate       float64
	dbClients    int
	dbCPU        map[string]float64 // CPU ms per transaction of the database's loop, by process
	cores        int                // the machine's CPUs, which every process of the stack shares
}

// perOp turns CPU seconds by process into CPU milliseconds per operation
// (nil for none).
func perOp(cpu map[string]float64, ops int64) map[string]float64 {
	if ops <= 0 || len(cpu) == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range cpu {
		out[k] = v * 1000 / float64(ops)
	}
	return out
}

// cpuSummary is "total ms (postgres a, order b, ...)" for CPU ms per
// operation, the processes that used any in cpuColumns' order.
func cpuSummary(ms map[string]float64) string {
	var total float64
	var parts []string
	for _, c := range cpuColumns {
		total += ms[c]
		if ms[c] >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s %.2f", c, ms[c]))
		}
	}
	return fmt.Sprintf("%.2f ms (%s)", total, strings.Join(parts, ", "))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func (s stepResult) summary() string {
	return fmt.Sprintf("POST %.0f/s (p99 %s ms), terminal %.0f/s, create→terminal p50 %s / p99 %s ms, backlog %d",
		s.postRate, ms(s.postP99), s.terminalRate, ms(s.c2tP50), ms(s.c2tP99), s.backlog)
}

// cpuColumns are the processes the table shows CPU seconds for, in order.
var cpuColumns = []string{"order", "payment", "inventory", "walrelay", "connect", "kafka", "postgres", "devstack", "benchsaga"}

func (r report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "saga benchmark %s, %s stack, %s\n\n", r.runID, r.stack, r.at.Format(time.RFC3339))
	cols := []string{}
	for _, c := range cpuColumns {
		for _, s := range r.steps {
			if _, ok := s.cpu[c]; ok {
				cols = append(cols, c)
				break
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "step\toffered/s\tPOST/s\tPOST p50 ms\tPOST p99 ms\tfailed\tterminal/s\tc→t p50 ms\tc→t p99 ms\tc→t max ms\tbacklog\tunsettled\tdb tx/order\tcpu ms/order\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "cpu %s s\t", c)
	}
	fmt.Fprintln(tw)
	for _, s := range r.steps {
		offered := "-"
		if s.offered > 0 {
			offered = fmt.Sprintf("%g", s.offered)
		}
		if s.kind == kindWrite { // nothing downstream ran while it was measured
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\t%d\t-\t-\t-\t-\t-\t%d\t-\t-\t", s.name, offered, s.postRate, ms(s.postP50), ms(s.postP99),
				s.failed, s.unsettled)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.2f\t", s.name, offered, s.postRate, ms(s.postP50), ms(s.postP99),
				s.failed, s.terminalRate, ms(s.c2tP50), ms(s.c2tP99), ms(s.c2tMax), s.backlog, s.unsettled, s.txPerOrder(), s.cpuPerOrder())
		}
		for _, c := range cols {
			fmt.Fprintf(tw, "%.1f\t", s.cpu[c])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	fmt.Fprintln(w)
	if r.dbRate > 0 {
		fmt.Fprintf(w, "database's own rate for POST /orders' transaction (%d connections): %.0f/s\n", r.dbClients, r.dbRate)
	}
	if s, ok := r.kind(kindWrite); ok && r.dbCPU != nil && s.posted > 0 {
		fmt.Fprintf(w, "CPU per transaction: the database's loop %s; POST /orders %s\n",
			cpuSummary(r.dbCPU), cpuSummary(perOp(s.cpu, int64(s.posted))))
	}
	if s, ok := r.cheapest(); ok && r.cores > 0 {
		budget := float64(r.cores) * 1000 // CPU ms the machine has per second
		perOrder, pgPerOrder := s.cpuPerOrder(), s.cpu["postgres"]*1000/float64(s.posted)
		fmt.Fprintf(w, "CPU per order, lowest at %s: %.2f ms (postgres %.2f); %d cores finish at most %.0f orders/s at that cost, PostgreSQL alone %.0f/s; %.0f/s needs <= %.2f ms\n",
			s.name, perOrder, pgPerOrder, r.cores, budget/perOrder, budget/pgPerOrder, targetSaturation, budget/targetSaturation)
	}
	fmt.Fprintln(w, "targets:")
	sat, satStep := r.saturation()
	fmt.Fprintf(w, "  saturation, terminal/s without a growing backlog: %.0f (%s); target >= %.0f: %s\n", sat, satStep, targetSaturation, verdict(sat >= targetSaturation))
	if s, ok := r.step(100); ok {
		fmt.Fprintf(w, "  at 100/s open loop, create→terminal p50 %s ms (target <= %s), p99 %s ms (target <= %s): %s\n",
			ms(s.c2tP50), ms(targetP50At100), ms(s.c2tP99), ms(targetP99At100), verdict(s.c2tP50 <= targetP50At100 && s.c2tP99 <= targetP99At100))
	}
	if s, ok := r.kind(kindWrite); ok && r.dbRate > 0 {
		ratio := s.postRate / r.dbRate
		fmt.Fprintf(w, "  POST /orders alone (orders connector paused) over the database's rate: %.0f / %.0f = %.2f; target >= %.1f: %s\n",
			s.postRate, r.dbRate, ratio, targetDBRatio, verdict(ratio >= targetDBRatio))
	}
	if c, ok := r.kind(kindClosed); ok && r.dbRate > 0 {
		fmt.Fprintf(w, "  POST /orders in the closed loop, bounded by MAX_BACKLOG to what the saga finishes, over the database's rate: %.0f / %.0f = %.2f\n",
			c.postRate, r.dbRate, c.postRate/r.dbRate)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// saturation is the highest terminal rate of a step whose backlog at its
// end stayed under one second of its offered load (or of its own rate, for
// the closed loop): the rate the saga sustains.
func (r report) saturation() (float64, string) {
	best, name := 0.0, "no step kept up"
	for _, s := range r.steps {
		if s.kind == kindWrite {
			continue
		}
		rate := s.offered
		if rate == 0 {
			rate = s.terminalRate
		}
		if float64(s.backlog) <= rate && s.terminalRate > best {
			best, name = s.terminalRate, s.name
		}
	}
	return best, name
}

// cheapest is the saga step whose orders cost the stack the least CPU
// each (batches grow with load, so usually the busiest), among those
// whose PostgreSQL CPU was measured.
func (r report) cheapest() (stepResult, bool) {
	var best stepResult
	for _, s := range r.steps {
		if s.kind == kindWrite || s.cpu["postgres"] <= 0 || s.cpuPerOrder() <= 0 {
			continue
		}
		if best.posted == 0 || s.cpuPerOrder() < best.cpuPerOrder() {
			best = s
		}
	}
	return best, best.posted > 0
}

func (r report) step(rate float64) (stepResult, bool) {
	for _, s := range r.steps {
		if s.offered == rate {
			return s, true
		}
	}
	return stepResult{}, false
}

// kind returns the first step of kind.
func (r report) kind(kind string) (stepResult, bool) {
	for _, s := range r.steps {
		if s.kind == kind {
			return s, true
		}
	}
	return stepResult{}, false
}

// svg plots the open-loop steps: throughput (POST and terminal per second)
// and create-to-terminal latency (p50 and p99, log scale) against the
// offered load.
func (r report) svg() []byte {
	var open []stepResult
	for _, s := range r.steps {
		if s.offered > 0 {
			open = append(open, s)
		}
	}
	const W, H, pad, gap = 900, 380, 60, 40
	pw := (W - 2*pad - gap) / 2
	ph := H - 2*pad
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">saga benchmark %s, %s stack, %s</text>`+"\n", pad, r.runID, r.stack, r.at.Format("2006-01-02 15:04"))
	if len(open) == 0 {
		b.WriteString("</svg>\n")
		return b.Bytes()
	}
	xs := make([]float64, len(open))
	for i, s := range open {
		xs[i] = s.offered
	}
	xmax := slices.Max(xs) * 1.05
	x := func(left int, v float64) float64 { return float64(left) + v/xmax*float64(pw) }

	// Left: throughput.
	ymax := xmax
	for _, s := range open {
		ymax = math.Max(ymax, math.Max(s.postRate, s.terminalRate)*1.05)
	}
	yl := func(v float64) float64 { return float64(pad+ph) - v/ymax*float64(ph) }
	axes(&b, pad, pw, ph, "offered orders/s", "orders/s")
	for _, t := range ticks(ymax) {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text><line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n",
			pad-4, yl(t)+4, t, pad, pad+pw, yl(t), yl(t))
	}
	xTicks(&b, pad, ph, xs, func(v float64) float64 { return x(pad, v) })
	line(&b, "#bbb", "4 3", xs, xs, func(v float64) float64 { return x(pad, v) }, yl) // offered = done
	series(&b, "#1f77b4", open, func(s stepResult) float64 { return s.postRate }, func(v float64) float64 { return x(pad, v) }, yl)
	series(&b, "#d62728", open, func(s stepResult) float64 { return s.terminalRate }, func(v float64) float64 { return x(pad, v) }, yl)
	legend(&b, pad+10, pad+10, []string{"#1f77b4", "#d62728", "#bbb"}, []string{"POST /orders per s", "orders terminal per s", "offered"})

	// Right: latency, log scale in ms.
	left := pad + pw + gap
	lo, hi := 1.0, 10.0
	for _, s := range open {
		hi = math.Max(hi, float64(s.c2tP99)/float64(time.Millisecond)*1.5)
	}
	yr := func(v float64) float64 {
		v = math.Max(v, lo)
		return float64(pad+ph) - math.Log10(v/lo)/math.Log10(hi/lo)*float64(ph)
	}
	axes(&b, left, pw, ph, "offered orders/s", "create → terminal, ms (log)")
	for t := 1.0; t <= hi; t *= 10 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text><line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n",
			left-4, yr(t)+4, t, left, left+pw, yr(t), yr(t))
	}
	xTicks(&b, left, ph, xs, func(v float64) float64 { return x(left, v) })
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	series(&b, "#2ca02c", open, func(s stepResult) float64 { return msOf(s.c2tP50) }, func(v float64) float64 { return x(left, v) }, yr)
	series(&b, "#9467bd", open, func(s stepResult) float64 { return msOf(s.c2tP99) }, func(v float64) float64 { return x(left, v) }, yr)
	legend(&b, left+10, pad+10, []string{"#2ca02c", "#9467bd"}, []string{"p50", "p99"})
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func axes(b *bytes.Buffer, left, pw, ph int, xl, yl string) {
	const pad = 60
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n",
		left, pad, left, pad+ph, left, pad+ph, left+pw, pad+ph)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+pw/2, pad+ph+36, xl)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="start">%s</text>`+"\n", left, pad-8, yl)
}

func xTicks(b *bytes.Buffer, left, ph int, xs []float64, x func(float64) float64) {
	const pad = 60
	for _, v := range xs {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", x(v), pad+ph+16, v)
	}
}

func series(b *bytes.Buffer, color string, steps []stepResult, y func(stepResult) float64, px, py func(float64) float64) {
	xs, ys := make([]float64, len(steps)), make([]float64, len(steps))
	for i, s := range steps {
		xs[i], ys[i] = s.offered, y(s)
	}
	line(b, color, "", xs, ys, px, py)
	for i := range xs {
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(xs[i]), py(ys[i]), color)
	}
}

func line(b *bytes.Buffer, color, dash string, xs, ys []float64, px, py func(float64) float64) {
	pts := make([]string, len(xs))
	for i := range xs {
		pts[i] = fmt.Sprintf("%.1f,%.1f", px(xs[i]), py(ys[i]))
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
}

func legend(b *bytes.Buffer, x, y int, colors, labels []string) {
	for i := range colors {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y+i*16, colors[i], x+18, y+i*16+5, labels[i])
	}
}

// ticks returns about five round values from 0 to max.
func ticks(max float64) []float64 {
	step := math.Pow(10, math.Floor(math.Log10(max/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if max/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var ts []float64
	for t := 0.0; t <= max; t += step {
		ts = append(ts, t)
	}
	return ts
}
