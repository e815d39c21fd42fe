package waterfall

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// rowIDs returns the span IDs of l's rows for which keep is true, sorted.
func rowIDs(l *Layout, keep func(*Row) bool) []string {
	var out []string
	for _, g := range l.Groups {
		for _, r := range g.Rows {
			if keep(r) {
				out = append(out, r.SpanID)
			}
		}
	}
	sort.Strings(out)
	return out
}

// hopSummary is a hop as "<from>-><to> <label>".
func hopSummary(h *Hop) string { return h.From.SpanID + "->" + h.To.SpanID + " " + h.Label() }

func sorted(s ...string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestBuildFixtures(t *testing.T) {
	for _, tc := range []struct {
		fixture      string
		orderID      string
		duration     time.Duration
		groups       []string // service (rows)
		compensation []string
		triggers     map[string]string
		failures     map[string]string
		retries      map[string]int
		duplicates   []string
		hops         []string
	}{
		{
			fixture: fixtureRefund, orderID: "0192f6c4-7a1e-7c3b-9d2e-5f8a1b2c3d4e", duration: 161110 * time.Microsecond,
			groups: []string{
				"order-service: a1f0c3d2e4b50617 b2e1d4c3f5a60728 0a1b2c3d4e5f6071 1b2c3d4e5f607182 2c3d4e5f60718293 3d4e5f60718293a4 8293a4b5c6d7e8f9 93a4b5c6d7e8f90b",
				"payment-service: c3d2e5f4a6b70839 d4e3f6a5b7c8094a 4e5f60718293a4b5 5f60718293a4b5c6",
				"inventory-service: e5f4a7b6c8d90a5b f6a5b8c7d9e01b6c 60718293a4b5c6d7 718293a4b5c6d7e8",
			},
			// handle InventoryRejected (writes OrderCancelled), both
			// consumers of OrderCancelled and their handlers, and the
			// order service consuming (and ignoring) PaymentRefunded.
			compensation: sorted("3d4e5f60718293a4", "4e5f60718293a4b5", "5f60718293a4b5c6", "60718293a4b5c6d7",
				"718293a4b5c6d7e8", "8293a4b5c6d7e8f9", "93a4b5c6d7e8f90b"),
			triggers: map[string]string{
				"f6a5b8c7d9e01b6c": "InventoryRejected", "2c3d4e5f60718293": "InventoryRejected", "3d4e5f60718293a4": "InventoryRejected",
			},
			hops: []string{
				"d4e3f6a5b7c8094a->0a1b2c3d4e5f6071 outbox.event.payment/0@42 · 26.8 ms",
				"f6a5b8c7d9e01b6c->2c3d4e5f60718293 outbox.event.inventory/2@58 · 32.9 ms",
				"5f60718293a4b5c6->8293a4b5c6d7e8f9 outbox.event.payment/0@43 · 31.2 ms",
				"b2e1d4c3f5a60728->c3d2e5f4a6b70839 outbox.event.order/1@117 · 27.7 ms",
				"3d4e5f60718293a4->4e5f60718293a4b5 outbox.event.order/1@118 · 34.9 ms",
				"b2e1d4c3f5a60728->e5f4a7b6c8d90a5b outbox.event.order/1@117 · 28.9 ms",
				"3d4e5f60718293a4->60718293a4b5c6d7 outbox.event.order/1@118 · 35.7 ms",
			},
		},
		{
			fixture: fixtureRelease, orderID: "0192f7a0-1c2d-7e3f-8a4b-5c6d7e8f9a0b", duration: 175500 * time.Microsecond,
			groups: []string{
				"order-service: 11a2b3c4d5e6f708 22b3c4d5e6f70819 7708192a3b4c5d6e 88192a3b4c5d6e7f 992a3b4c5d6e7f80 aa3b4c5d6e7f8091 0091a2b3c4d5e6f7 01a2b3c4d5e6f708",
				"payment-service: 33c4d5e6f708192a 44d5e6f708192a3b bb4c5d6e7f8091a2 cc5d6e7f8091a2b3 ff8091a2b3c4d5e6",
				"inventory-service: 55e6f708192a3b4c 66f708192a3b4c5d dd6e7f8091a2b3c4 ee7f8091a2b3c4d5 ef8091a2b3c4d5e6",
			},
			compensation: sorted("88192a3b4c5d6e7f", "bb4c5d6e7f8091a2", "cc5d6e7f8091a2b3", "dd6e7f8091a2b3c4",
				"ee7f8091a2b3c4d5", "ef8091a2b3c4d5e6", "ff8091a2b3c4d5e6", "0091a2b3c4d5e6f7", "01a2b3c4d5e6f708"),
			failures: map[string]string{
				"ee7f8091a2b3c4d5": "error: ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)",
			},
			retries: map[string]int{"dd6e7f8091a2b3c4": 1},
			triggers: map[string]string{
				"44d5e6f708192a3b": "PaymentFailed", "7708192a3b4c5d6e": "PaymentFailed", "88192a3b4c5d6e7f": "PaymentFailed",
			},
			duplicates: []string{"ff8091a2b3c4d5e6"},
			hops: []string{
				"44d5e6f708192a3b->7708192a3b4c5d6e outbox.event.payment/2@77 · 27.1 ms",
				"66f708192a3b4c5d->992a3b4c5d6e7f80 outbox.event.inventory/1@64 · 31.7 ms",
				"ef8091a2b3c4d5e6->0091a2b3c4d5e6f7 outbox.event.inventory/1@65 · 33.6 ms",
				"22b3c4d5e6f70819->33c4d5e6f708192a outbox.event.order/0@203 · 25.0 ms",
				"88192a3b4c5d6e7f->bb4c5d6e7f8091a2 outbox.event.order/0@204 · 36.3 ms",
				"88192a3b4c5d6e7f->ff8091a2b3c4d5e6 outbox.event.order/0@204 · 57.7 ms",
				"22b3c4d5e6f70819->55e6f708192a3b4c outbox.event.order/0@203 · 25.8 ms",
				"88192a3b4c5d6e7f->dd6e7f8091a2b3c4 outbox.event.order/0@204 · 36.9 ms",
			},
		},
		{
			fixture: fixtureConfirmed, orderID: "0192f7b3-5e6f-7a8b-9c0d-1e2f3a4b5c6d", duration: 123090 * time.Microsecond,
			groups: []string{
				"order-service: a0b1c2d3e4f50617 b1c2d3e4f5061728 061728394a5b6c7d 1728394a5b6c7d8e 28394a5b6c7d8e9f 394a5b6c7d8e9fa0",
				"payment-service: c2d3e4f506172839 d3e4f5061728394a 4a5b6c7d8e9fa0b1 4b6c7d8e9fa0b1c2",
				"inventory-service: e4f5061728394a5b f5061728394a5b6c 5b6c7d8e9fa0b1c2 6c7d8e9fa0b1c2d3",
			},
			triggers: map[string]string{},
			hops: []string{
				"d3e4f5061728394a->061728394a5b6c7d outbox.event.payment/1@51 · 27.3 ms",
				"f5061728394a5b6c->28394a5b6c7d8e9f outbox.event.inventory/0@39 · 31.7 ms",
				"b1c2d3e4f5061728->c2d3e4f506172839 outbox.event.order/2@88 · 26.4 ms",
				"394a5b6c7d8e9fa0->4a5b6c7d8e9fa0b1 outbox.event.order/2@89 · 34.0 ms",
				"b1c2d3e4f5061728->e4f5061728394a5b outbox.event.order/2@88 · 26.9 ms",
				"394a5b6c7d8e9fa0->5b6c7d8e9fa0b1c2 outbox.event.order/2@89 · 34.6 ms",
			},
		},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			tr := loadTrace(t, tc.fixture)
			l, err := Build(tr)
			if err != nil {
				t.Fatal(err)
			}
			if l.OrderID != tc.orderID || l.Duration != tc.duration || l.TraceID != tr.TraceID {
				t.Errorf("order %s, duration %s, trace %s; want %s, %s, %s", l.OrderID, l.Duration, l.TraceID,
					tc.orderID, tc.duration, tr.TraceID)
			}
			var groups []string
			for _, g := range l.Groups {
				var ids []string
				for _, r := range g.Rows {
					ids = append(ids, r.SpanID)
				}
				groups = append(groups, g.Service+": "+strings.Join(ids, " "))
			}
			if !slices.Equal(groups, tc.groups) {
				t.Errorf("groups:\n%s\nwant\n%s", strings.Join(groups, "\n"), strings.Join(tc.groups, "\n"))
			}
			if l.Spans() != len(tr.Spans) {
				t.Errorf("%d rows for %d spans", l.Spans(), len(tr.Spans))
			}
			if got := rowIDs(l, func(r *Row) bool { return r.Compensation }); !slices.Equal(got, tc.compensation) {
				t.Errorf("compensation rows %q, want %q", got, tc.compensation)
			}
			triggers := map[string]string{}
			for _, id := range rowIDs(l, func(r *Row) bool { return r.Trigger != "" }) {
				triggers[id] = rowByID(t, l, id).Trigger
			}
			if !maps.Equal(triggers, tc.triggers) {
				t.Errorf("triggers %v, want %v", triggers, tc.triggers)
			}
			if got := rowIDs(l, func(r *Row) bool { return r.Outcome == OutcomeDuplicate }); !slices.Equal(got, tc.duplicates) {
				t.Errorf("duplicates %q, want %q", got, tc.duplicates)
			}
			failures, retries := map[string]string{}, map[string]int{}
			for _, g := range l.Groups {
				for _, r := range g.Rows {
					if r.Failure != "" {
						failures[r.SpanID] = r.Failure
					}
					if r.Retries > 0 {
						retries[r.SpanID] = r.Retries
					}
					if r.Orphan {
						t.Errorf("row %s has no parent in the trace", r.SpanID)
					}
				}
			}
			if !maps.Equal(failures, tc.failures) || !maps.Equal(retries, tc.retries) {
				t.Errorf("failures %q, retries %v; want %q, %v", failures, retries, tc.failures, tc.retries)
			}
			var hops []string
			for _, h := range l.Hops {
				hops = append(hops, hopSummary(h))
			}
			if !slices.Equal(hops, tc.hops) {
				t.Errorf("hops:\n%s\nwant\n%s", strings.Join(hops, "\n"), strings.Join(tc.hops, "\n"))
			}
			checkGeometry(t, l)
		})
	}
}

// checkGeometry checks what every layout guarantees: bars proportional to
// time on one axis, rows in time order below their heading, children
// indented under same-service parents, hop connectors from the writer's
// bar end to the consumer's bar start.
func checkGeometry(t *testing.T, l *Layout) {
	t.Helper()
	scale := ChartWidth / float64(l.Duration)
	y := 0.0
	for _, g := range l.Groups {
		if g.Y < y {
			t.Errorf("heading %s at y %.1f above the previous row's end %.1f", g.Service, g.Y, y)
		}
		y = g.Y + headingH
		for i, r := range g.Rows {
			if r.Y != y {
				t.Errorf("row %s at y %.1f, want %.1f", r.SpanID, r.Y, y)
			}
			y += rowH
			if i > 0 && r.Offset < g.Rows[i-1].Offset {
				t.Errorf("row %s starts before the row above it", r.SpanID)
			}
			if want := ChartX + scale*float64(r.Offset); !near(r.BarX, want) {
				t.Errorf("row %s bar at x %.2f, want %.2f", r.SpanID, r.BarX, want)
			}
			if want := max(scale*float64(r.Duration), 2); !near(r.BarW, want) {
				t.Errorf("row %s bar %.2f wide, want %.2f", r.SpanID, r.BarW, want)
			}
			if r.End() > max(ChartX+ChartWidth, r.BarX+2)+0.01 || r.BarX < ChartX {
				t.Errorf("row %s bar [%.1f, %.1f] outside the chart", r.SpanID, r.BarX, r.End())
			}
			if r.Kind == KindInternal && r.Depth == 0 && r.ParentID != "" && !r.Remote && !r.Orphan {
				t.Errorf("internal span %s (%s) is not indented under its parent", r.SpanID, r.Name)
			}
			if r.Remote && r.Depth != 0 {
				t.Errorf("span %s of a remote parent at depth %d", r.SpanID, r.Depth)
			}
			// The text after the bar: duration, then badges, in order,
			// apart, inside the drawing.
			end := r.DurationX + width(FormatDuration(r.Duration))
			if r.DurationX < r.End() {
				t.Errorf("row %s: duration at %.1f over the bar ending at %.1f", r.SpanID, r.DurationX, r.End())
			}
			for _, b := range r.Badges {
				if b.X < end+textGap {
					t.Errorf("row %s: badge %q at %.1f overlaps the text ending at %.1f", r.SpanID, b.Text, b.X, end)
				}
				end = b.X + b.W
			}
			if end > l.Width {
				t.Errorf("row %s: text reaches %.1f, the drawing is %.1f wide", r.SpanID, end, l.Width)
			}
		}
		y += groupGap
	}
	if l.Height < y {
		t.Errorf("height %.1f, rows reach %.1f", l.Height, y)
	}
	for _, h := range l.Hops {
		fromY := h.From.Mid + barH/2 // leaving the bar's lower edge, or its upper one upwards
		if h.To.Mid < h.From.Mid {
			fromY = h.From.Mid - barH/2
		}
		prefix := "M" + px(h.From.End()) + " " + px(fromY) + "C"
		suffix := " " + px(h.To.BarX) + " " + px(h.To.Mid)
		if !strings.HasPrefix(h.Path, prefix) || !strings.HasSuffix(h.Path, suffix) {
			t.Errorf("hop %s path %q, want it from %q to %q", hopSummary(h), h.Path, prefix, suffix)
		}
		nameEnd := h.To.TextX + width(h.To.Label())
		if h.Anchor == "start" && (h.LabelX < h.To.End() || h.LabelX+width(h.Label()) > h.To.DurationX) {
			t.Errorf("hop %s label [%.1f, %.1f] is not between the bar's end %.1f and the duration at %.1f",
				hopSummary(h), h.LabelX, h.LabelX+width(h.Label()), h.To.End(), h.To.DurationX)
		}
		if h.Anchor == "end" && (h.LabelX > h.To.BarX || h.LabelX-width(h.Label()) < nameEnd) {
			t.Errorf("hop %s label [%.1f, %.1f] overlaps the row's name (ending at %.1f) or bar (at %.1f)",
				hopSummary(h), h.LabelX-width(h.Label()), h.LabelX, nameEnd, h.To.BarX)
		}
	}
}

// px prints a coordinate as the layout's paths do.
func px(v float64) string { return fmt.Sprintf("%.1f", v) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// rowByID returns l's row of span id.
func rowByID(t testing.TB, l *Layout, id string) *Row {
	t.Helper()
	for _, g := range l.Groups {
		for _, r := range g.Rows {
			if r.SpanID == id {
				return r
			}
		}
	}
	t.Fatalf("no row for span %s", id)
	return nil
}

// TestBuildIgnoresSpanOrder: Jaeger returns spans in no particular order
// (each service exports its own batches); the layout is the same.
func TestBuildIgnoresSpanOrder(t *testing.T) {
	tr := loadTrace(t, fixtureRelease)
	want, err := Build(tr)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		shuffled := *tr
		shuffled.Spans = slices.Clone(tr.Spans)
		rng.Shuffle(len(shuffled.Spans), func(i, j int) {
			shuffled.Spans[i], shuffled.Spans[j] = shuffled.Spans[j], shuffled.Spans[i]
		})
		got, err := Build(&shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := summary(got), summary(want); a != b {
			t.Fatalf("shuffle %d:\n%s\nwant\n%s", i, a, b)
		}
	}
}

// summary prints a layout's rows and hops, one a line.
func summary(l *Layout) string {
	var b strings.Builder
	for _, g := range l.Groups {
		for _, r := range g.Rows {
			b.WriteString(g.Service + " " + r.SpanID + " " + px(r.Y) + " " + px(r.BarX) + "\n")
		}
	}
	for _, h := range l.Hops {
		b.WriteString(hopSummary(h) + " " + h.Path + "\n")
	}
	return b.String()
}

// edit returns a copy of tr with f applied to the span id.
func edit(t *testing.T, tr *Trace, id string, f func(*Span)) *Trace {
	t.Helper()
	c := *tr
	c.Spans = slices.Clone(tr.Spans)
	for i := range c.Spans {
		if c.Spans[i].SpanID == id {
			c.Spans[i].Tags = slices.Clone(c.Spans[i].Tags)
			f(&c.Spans[i])
			return &c
		}
	}
	t.Fatalf("no span %s", id)
	return nil
}

// setTag sets tag key of s to the JSON value.
func setTag(s *Span, key, typ, value string) {
	for i := range s.Tags {
		if s.Tags[i].Key == key {
			s.Tags[i].Type, s.Tags[i].Value = typ, json.RawMessage(value)
			return
		}
	}
	s.Tags = append(s.Tags, Tag{Key: key, Type: typ, Value: json.RawMessage(value)})
}

// TestBuildMarks covers the marks the fixtures do not show: failures and
// spans whose parent is missing.
func TestBuildMarks(t *testing.T) {
	const consumer, handler, post = "e4f5061728394a5b", "f5061728394a5b6c", "a0b1c2d3e4f50617"
	base := loadTrace(t, fixtureConfirmed)
	for _, tc := range []struct {
		name    string
		trace   *Trace
		span    string
		failure string
		badges  []string
		orphan  bool
		hops    int
		failed  []string // every row with a failure; default: span when failure is set
	}{
		{
			name: "dead-lettered record",
			trace: edit(t, base, consumer, func(s *Span) {
				setTag(s, "consumer.outcome", "string", `"dead_lettered"`)
				setTag(s, "otel.status_code", "string", `"ERROR"`)
				setTag(s, "error", "bool", `true`)
				setTag(s, "otel.status_description", "string", `"attempts exhausted: reserve: deadlock detected"`)
			}),
			span: consumer, failure: "dead-lettered", badges: []string{"dead-lettered"}, hops: 6,
		},
		{
			name:  "retried after a failed attempt",
			trace: loadTrace(t, fixtureRelease), span: "dd6e7f8091a2b3c4",
			badges: []string{"compensation", "retried ×1"}, hops: 8, failed: []string{"ee7f8091a2b3c4d5"},
		},
		{
			name:  "the failed attempt, its long error cut short",
			trace: loadTrace(t, fixtureRelease), span: "ee7f8091a2b3c4d5",
			failure: "error: ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)",
			badges:  []string{"compensation", "error: ERROR: could not serialize access due to…"}, hops: 8,
		},
		{
			name: "error status with a description",
			trace: edit(t, base, handler, func(s *Span) {
				setTag(s, "otel.status_code", "string", `"ERROR"`)
				setTag(s, "error", "bool", `true`)
				setTag(s, "otel.status_description", "string", `"reserve: deadlock detected"`)
			}),
			span: handler, failure: "error: reserve: deadlock detected", badges: []string{"error: reserve: deadlock detected"}, hops: 6,
		},
		{
			name:  "error tag only",
			trace: edit(t, base, handler, func(s *Span) { setTag(s, "error", "bool", `true`) }),
			span:  handler, failure: "error", badges: []string{"error"}, hops: 6,
		},
		{
			name:  "5xx answer",
			trace: edit(t, base, post, func(s *Span) { setTag(s, "http.response.status_code", "int64", `503`) }),
			span:  post, failure: "HTTP 503", badges: []string{"HTTP 503"}, hops: 6,
		},
		{
			name:  "4xx answer is no failure",
			trace: edit(t, base, post, func(s *Span) { setTag(s, "http.response.status_code", "int64", `409`) }),
			span:  post, hops: 6,
		},
		{
			name: "writer's span not exported yet",
			trace: edit(t, base, consumer, func(s *Span) {
				s.References = []Reference{{RefType: "CHILD_OF", TraceID: s.TraceID, SpanID: "00000000000000ff"}}
			}),
			span: consumer, orphan: true, badges: []string{"parent not in trace"}, hops: 5,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Build(tc.trace)
			if err != nil {
				t.Fatal(err)
			}
			r := rowByID(t, l, tc.span)
			var badges []string
			for _, b := range r.Badges {
				badges = append(badges, b.Text)
			}
			if r.Failure != tc.failure || r.Orphan != tc.orphan || !slices.Equal(badges, tc.badges) {
				t.Errorf("failure %q, orphan %v, badges %q; want %q, %v, %q", r.Failure, r.Orphan, badges,
					tc.failure, tc.orphan, tc.badges)
			}
			failed := tc.failed
			if tc.failure != "" && failed == nil {
				failed = []string{tc.span}
			}
			if got := rowIDs(l, func(r *Row) bool { return r.Failure != "" }); !slices.Equal(got, failed) {
				t.Errorf("failed rows %q, want %q", got, failed)
			}
			if len(l.Hops) != tc.hops {
				t.Errorf("%d hops, want %d", len(l.Hops), tc.hops)
			}
			checkGeometry(t, l)
		})
	}
}

// TestBuildEdgeCases lays out traces no saga makes but Jaeger may return.
func TestBuildEdgeCases(t *testing.T) {
	one := func(id, parent, process string, start, dur int64, kind string) Span {
		s := Span{TraceID: "t", SpanID: id, OperationName: "op " + id, StartTime: start, Duration: dur, ProcessID: process,
			Tags: []Tag{{Key: "span.kind", Type: "string", Value: json.RawMessage(`"` + kind + `"`)}}}
		if parent != "" {
			s.References = []Reference{{RefType: "CHILD_OF", TraceID: "t", SpanID: parent}}
		}
		return s
	}
	procs := map[string]Process{"p1": {ServiceName: "a"}, "p2": {ServiceName: "b"}}
	for _, tc := range []struct {
		name   string
		spans  []Span
		check  func(t *testing.T, l *Layout)
		errMsg string
	}{
		{name: "no spans", errMsg: "no spans"},
		{
			name:  "one span of no duration",
			spans: []Span{one("1", "", "p1", 1000, 0, KindServer)},
			check: func(t *testing.T, l *Layout) {
				r := l.Groups[0].Rows[0]
				if r.BarX != ChartX || r.BarW != 2 || len(l.Ticks) != 1 {
					t.Errorf("bar at %.1f, %.1f wide, %d ticks; want at the chart's start, 2 wide, one tick", r.BarX, r.BarW, len(l.Ticks))
				}
			},
		},
		{
			name: "consumer starting before its writer ended (clock skew)",
			spans: []Span{
				one("1", "", "p1", 1000, 500, KindInternal),
				one("2", "1", "p2", 1400, 100, KindConsumer),
			},
			check: func(t *testing.T, l *Layout) {
				if len(l.Hops) != 1 || l.Hops[0].Gap != -100*time.Microsecond || !strings.HasSuffix(l.Hops[0].Label(), "· -100 µs") {
					t.Errorf("hops %v, want one of -100 µs", l.Hops)
				}
				if l.Hops[0].Ref() != "?/?@?" {
					t.Errorf("ref of a consumer span without messaging tags = %q", l.Hops[0].Ref())
				}
			},
		},
		{
			name: "same-service consumer is no hop; a span of an unnamed process",
			spans: []Span{
				one("1", "", "p1", 1000, 500, KindInternal),
				one("2", "1", "p1", 1600, 100, KindConsumer),
				one("3", "2", "p9", 1700, 100, KindInternal),
			},
			check: func(t *testing.T, l *Layout) {
				if len(l.Hops) != 0 || len(l.Groups) != 2 || l.Groups[1].Service != "p9" || rowByID(t, l, "2").Depth != 1 {
					t.Errorf("hops %d, groups %d (second %q), depth of 2 %d", len(l.Hops), len(l.Groups), l.Groups[1].Service,
						rowByID(t, l, "2").Depth)
				}
			},
		},
		{
			name: "a reference cycle ends",
			spans: []Span{
				one("1", "2", "p1", 1000, 500, KindInternal),
				one("2", "1", "p1", 1000, 500, KindInternal),
			},
			check: func(t *testing.T, l *Layout) {
				if l.Spans() != 2 {
					t.Errorf("%d rows", l.Spans())
				}
			},
		},
		{
			name: "a repeated span ID is one row",
			spans: []Span{
				one("1", "", "p1", 1000, 500, KindServer),
				one("1", "", "p1", 1000, 500, KindServer),
			},
			check: func(t *testing.T, l *Layout) {
				if l.Spans() != 1 {
					t.Errorf("%d rows", l.Spans())
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Build(&Trace{TraceID: "t", Spans: tc.spans, Processes: procs})
			if tc.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
					t.Fatalf("err %v, want one saying %q", err, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l)
		})
	}
}

// TestHopLabelWithoutRoom: a consumer that starts too close to the
// chart's left edge for its hop label between its name and its bar gets
// the label after its bar, and its duration and badges move right of it.
func TestHopLabelWithoutRoom(t *testing.T) {
	const topic = "outbox.event.inventory.of.a.rather.long.name"
	tag := func(k, v string) Tag { return Tag{Key: k, Type: "string", Value: json.RawMessage(`"` + v + `"`)} }
	kind := func(k string) []Tag { return []Tag{tag("span.kind", k)} }
	tr := &Trace{TraceID: "t", Processes: map[string]Process{"p1": {ServiceName: "a"}, "p2": {ServiceName: "b"}}, Spans: []Span{
		{TraceID: "t", SpanID: "1", StartTime: 0, Duration: 10, ProcessID: "p1", Tags: kind(KindInternal)},
		{TraceID: "t", SpanID: "2", OperationName: "process " + topic, StartTime: 20, Duration: 10, ProcessID: "p2",
			Tags:       append(kind(KindConsumer), tag("messaging.destination.name", topic)),
			References: []Reference{{RefType: "CHILD_OF", SpanID: "1"}}},
		{TraceID: "t", SpanID: "3", StartTime: 100000, Duration: 10, ProcessID: "p1", Tags: kind(KindInternal)},
	}}
	l, err := Build(tr)
	if err != nil {
		t.Fatal(err)
	}
	h, r := l.Hops[0], rowByID(t, l, "2")
	if h.Anchor != "start" || h.LabelX != r.End()+textGap {
		t.Fatalf("label anchored %q at %.1f, want after the bar ending at %.1f", h.Anchor, h.LabelX, r.End())
	}
	if r.DurationX < h.LabelX+width(h.Label()) {
		t.Errorf("duration at %.1f overlaps the hop label ending at %.1f", r.DurationX, h.LabelX+width(h.Label()))
	}
	checkGeometry(t, l)
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{999 * time.Microsecond, "999 µs"},
		{-100 * time.Microsecond, "-100 µs"},
		{time.Millisecond, "1.00 ms"},
		{9876 * time.Microsecond, "9.88 ms"},
		{27660 * time.Microsecond, "27.7 ms"},
		{34550 * time.Microsecond, "34.6 ms"},
		{-34550 * time.Microsecond, "-34.6 ms"},
		{1005 * time.Microsecond, "1.01 ms"},
		{999 * time.Millisecond, "999.0 ms"},
		{1500 * time.Millisecond, "1.50 s"},
		{90 * time.Second, "1m30s"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		total time.Duration
		want  string
	}{
		{0, "0"},
		{5 * time.Microsecond, "0 1 µs 2 µs 3 µs 4 µs 5 µs"},
		{161110 * time.Microsecond, "0 20.0 ms 40.0 ms 60.0 ms 80.0 ms 100.0 ms 120.0 ms 140.0 ms 160.0 ms"},
		{123090 * time.Microsecond, "0 20.0 ms 40.0 ms 60.0 ms 80.0 ms 100.0 ms 120.0 ms"},
		{3 * time.Second, "0 500.0 ms 1.00 s 1.50 s 2.00 s 2.50 s 3.00 s"},
	} {
		var labels []string
		for _, k := range ticks(tc.total, maxTicks) {
			labels = append(labels, k.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("ticks(%s) = %q, want %q", tc.total, got, tc.want)
		}
	}
}
