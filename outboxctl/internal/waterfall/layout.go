package waterfall

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// The drawing's geometry, in CSS pixels. Time 0 (the trace's first start)
// is at ChartX and the trace's end at ChartX+ChartWidth; text after a bar
// runs into the margin, which is at least Width-ChartX-ChartWidth wide and
// wider when the text needs it.
const (
	Width      = 1400.0
	ChartX     = 430.0
	ChartWidth = 720.0

	labelX     = 12.0 // where a row's name starts at depth 0
	indentStep = 16.0 // a row's name moves right by this per depth
	axisHeight = 40.0 // the time axis above the first heading
	headingH   = 28.0 // a service's heading
	rowH       = 22.0 // one span's row
	groupGap   = 10.0 // between one service's last row and the next heading
	barH       = 12.0
	badgeH     = 16.0
	bottomPad  = 16.0
	rightPad   = 16.0 // between the furthest text and the drawing's edge
	textGap    = 6.0  // between a bar's end and the text after it
	arrowRoom  = 12.0 // between a hop's label and the arrowhead
	badgePad   = 5.0  // horizontal padding inside a badge
	// charW is the advance of one character of the drawing's 11px
	// monospace font; text widths are estimated with it.
	charW = 6.6
)

// maxTicks bounds the time axis' labelled ticks.
const maxTicks = 8

// Span kinds, as Jaeger shows them in the span.kind tag.
const (
	KindServer   = "server"
	KindConsumer = "consumer"
	KindInternal = "internal"
)

// Outcomes of a consumed record (the consumer.outcome tag).
const (
	OutcomeProcessed    = "processed"
	OutcomeDuplicate    = "duplicate"
	OutcomeDeadLettered = "dead_lettered"
)

// compensating are the events that undo the saga: OrderCancelled and what
// it causes.
var compensating = []string{events.TypeOrderCancelled, events.TypePaymentRefunded, events.TypeInventoryReleased}

// failing are the saga's failures, which trigger the compensation.
var failing = []string{events.TypePaymentFailed, events.TypeInventoryRejected}

// serviceColors are the services' colours; another service gets one of
// extraColors by the hash of its name.
var (
	serviceColors = map[string]string{
		"order-service":     "#2f6fb0",
		"payment-service":   "#2e8b57",
		"inventory-service": "#c7771b",
	}
	extraColors = []string{"#7b52ab", "#1f8a8a", "#9c6b30", "#5a6f86", "#b0417a"}
)

// Layout is a trace drawn as a waterfall: rows grouped by service, bars
// placed on one time axis, and the Kafka hops between services.
type Layout struct {
	TraceID string
	// OrderID is the order.id of the trace's earliest span that has one.
	OrderID  string
	Start    time.Time
	Duration time.Duration
	Groups   []*Group
	Hops     []*Hop
	Ticks    []Tick
	Warnings []string
	// Width and Height are the drawing's size in pixels: Width at least
	// the constant Width, more when the text after a bar reaches further.
	Width, Height float64
	// Caption is a line the page shows under its title, e.g. where the
	// saga stands; Build leaves it empty.
	Caption string
}

// Group is one service's rows, in time order, under a heading.
type Group struct {
	Service string
	Color   string
	// Y is the top of the heading, TextY the baseline of its text; Rows
	// follow it.
	Y, TextY float64
	Rows     []*Row
}

// Row is one span.
type Row struct {
	SpanID, ParentID string
	Service, Name    string
	Kind             string
	// Depth is the number of the span's ancestors in an unbroken chain of
	// its own service's spans: 0 for a root, for a span whose parent is in
	// another service (a Kafka consumer) and for one whose parent is
	// missing from the trace.
	Depth int
	// Offset is the span's start from the trace's start.
	Offset, Duration time.Duration
	// Remote is set when the parent is in another service, Orphan when
	// the parent is not in the trace.
	Remote, Orphan bool
	// Kafka is the consumed record's place, for a consumer span.
	Kafka *KafkaRef
	// EventType is the event a consumer span consumed or a "handle" span
	// handled; Writes are the event types the span wrote to the outbox.
	EventType string
	Writes    []string
	Outcome   string
	// Retries counts the "retry" events on the span: the attempts after
	// the first (libs/consumer marks each on the record's span).
	Retries int
	// Compensation is set when the span consumes, handles or writes an
	// OrderCancelled, PaymentRefunded or InventoryReleased.
	Compensation bool
	// Trigger is the saga failure (PaymentFailed, InventoryRejected) the
	// span consumes, handles or writes, or "".
	Trigger string
	// Failure says what failed ("dead-lettered", "error: ...", "HTTP
	// 503"), or "".
	Failure string
	Tags    []Tag
	// Events are the span's events, each "+<time from the span's start>
	// <name> <field>=<value>...".
	Events []string

	// Geometry: the row's top, its middle, the baseline of its texts, the
	// indented name's start, the bar.
	Y, Mid, TextY    float64
	TextX            float64
	BarX, BarY, BarW float64
	// DurationX is where the duration text after the bar starts.
	DurationX float64
	Badges    []Badge
}

// End is where the row's bar ends.
func (r *Row) End() float64 { return r.BarX + r.BarW }

// Label is the row's name as drawn: children of a span of the same
// service get a corner mark.
func (r *Row) Label() string {
	if r.Depth > 0 {
		return "└ " + r.Name
	}
	return r.Name
}

// KafkaRef is a record's place: <topic>/<partition>@<offset>.
type KafkaRef struct {
	Topic, Partition string
	Offset           int64
	HasOffset        bool
}

func (k KafkaRef) String() string {
	off := "?"
	if k.HasOffset {
		off = fmt.Sprint(k.Offset)
	}
	return fmt.Sprintf("%s/%s@%s", orUnknown(k.Topic), orUnknown(k.Partition), off)
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// Badge is a labelled mark after a row's bar: a rounded box of badgeH at
// (X, Y), its text starting at TextX.
type Badge struct {
	Class, Text string
	X, Y, W     float64
	TextX       float64
}

// Hop is a Kafka hop between services: a consumer span whose parent, the
// span that wrote the event, is in another service.
type Hop struct {
	From, To *Row
	// Gap is the time from the end of From to the start of To.
	Gap time.Duration
	// Path is the SVG path of the connector from From's bar end to To's
	// bar start.
	Path string
	// The label's anchor point and alignment ("end": left of To's bar;
	// "start": after it).
	LabelX, LabelY float64
	Anchor         string
}

// Label is the hop's label: the record's place and the hop's duration.
func (h *Hop) Label() string { return h.Ref() + " · " + FormatDuration(h.Gap) }

// Ref is the consumed record's place.
func (h *Hop) Ref() string { return h.To.Kafka.String() }

// Tick is one labelled mark of the time axis.
type Tick struct {
	At    time.Duration
	X     float64
	Label string
}

// Build lays trace t out. It fails only for a trace without spans.
func Build(t *Trace) (*Layout, error) {
	if len(t.Spans) == 0 {
		return nil, errors.New("waterfall: the trace has no spans")
	}
	l := &Layout{TraceID: t.TraceID, Warnings: warnings(t)}
	rows := spanRows(t) // in time order
	t0, end := rows[0].Offset, time.Duration(0)
	for _, r := range rows {
		r.Offset -= t0
		end = max(end, r.Offset+r.Duration)
	}
	l.Start = time.UnixMicro(t0.Microseconds()).UTC()
	l.Duration = end
	l.OrderID = orderID(rows)
	l.Groups = group(rows)
	l.Ticks = ticks(end, maxTicks)
	l.place()
	l.Hops = hops(l.Groups)
	l.Width = Width
	for _, g := range l.Groups {
		for _, r := range g.Rows {
			l.Width = max(l.Width, trail(r, l.Hops)+rightPad)
		}
	}
	return l, nil
}

// warnings collects Jaeger's warnings about the trace and its spans.
func warnings(t *Trace) []string {
	out := slices.Clone(t.Warnings)
	for i := range t.Spans {
		for _, w := range t.Spans[i].Warnings {
			out = append(out, "span "+t.Spans[i].SpanID+": "+w)
		}
	}
	return out
}

// spanRows makes a row of each span, with Offset still absolute
// (microseconds since the epoch), sorted by start, then ancestors first,
// then span ID.
func spanRows(t *Trace) []*Row {
	byID := make(map[string]*Row, len(t.Spans))
	rows := make([]*Row, 0, len(t.Spans))
	for i := range t.Spans {
		s := &t.Spans[i]
		r := row(t, s)
		if _, dup := byID[r.SpanID]; dup {
			continue
		}
		byID[r.SpanID] = r
		rows = append(rows, r)
	}
	for _, r := range rows {
		p, ok := byID[r.ParentID]
		switch {
		case r.ParentID == "":
		case !ok:
			r.Orphan = true
		case p.Service != r.Service:
			r.Remote = true
		}
	}
	depths := make(map[string]int, len(rows))
	for _, r := range rows {
		r.Depth = depth(r, byID, depths, len(rows))
	}
	chain := make(map[string]int, len(rows))
	for _, r := range rows {
		chain[r.SpanID] = ancestors(r, byID, len(rows))
	}
	slices.SortStableFunc(rows, func(a, b *Row) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(chain[a.SpanID], chain[b.SpanID]),
			cmp.Compare(a.SpanID, b.SpanID))
	})
	return rows
}

// row reads what the drawing needs from span s of t.
func row(t *Trace, s *Span) *Row {
	r := &Row{
		SpanID: s.SpanID, ParentID: s.Parent(), Service: t.Service(s), Name: s.OperationName,
		Kind:   s.TagString("span.kind"),
		Offset: time.Duration(s.StartTime) * time.Microsecond, Duration: time.Duration(s.Duration) * time.Microsecond,
		EventType: s.TagString("event.type"), Writes: s.TagStrings("outbox.event_types"),
		Outcome: s.TagString("consumer.outcome"), Tags: s.Tags,
	}
	if typ, ok := strings.CutPrefix(s.OperationName, "handle "); ok && r.EventType == "" {
		r.EventType = typ // a handle span names its event in its name only
	}
	if r.Kind == KindConsumer {
		k := &KafkaRef{Topic: s.TagString("messaging.destination.name"), Partition: s.TagString("messaging.destination.partition.id")}
		k.Offset, k.HasOffset = s.TagInt("messaging.kafka.offset")
		r.Kafka = k
	}
	for _, l := range s.Logs {
		if l.Event() == "retry" {
			r.Retries++
		}
		r.Events = append(r.Events, event(s, l))
	}
	mark(r, s)
	return r
}

// event describes log l of span s.
func event(s *Span, l Log) string {
	var b strings.Builder
	b.WriteString("+" + FormatDuration(time.Duration(l.Timestamp-s.StartTime)*time.Microsecond) + " " + l.Event())
	for _, f := range l.Fields {
		if f.Key != "event" {
			b.WriteString(" " + f.Key + "=" + f.Text())
		}
	}
	return b.String()
}

// mark sets the row's compensation, trigger and failure marks.
func mark(r *Row, s *Span) {
	involved := append([]string{r.EventType}, r.Writes...)
	for _, typ := range involved {
		if slices.Contains(compensating, typ) {
			r.Compensation = true
		}
		if r.Trigger == "" && slices.Contains(failing, typ) {
			r.Trigger = typ
		}
	}
	r.Failure = failure(s)
}

// failure says what failed in s, or "": a dead-lettered record, an error
// status (with its description), a 5xx answer.
func failure(s *Span) string {
	if s.TagString("consumer.outcome") == OutcomeDeadLettered {
		return "dead-lettered"
	}
	errTag, _ := s.Tag("error")
	if errTag == "true" || s.TagString("otel.status_code") == "ERROR" {
		if d := s.TagString("otel.status_description"); d != "" {
			return "error: " + d
		}
		return "error"
	}
	if code, ok := s.TagInt("http.response.status_code"); ok && code >= 500 {
		return fmt.Sprintf("HTTP %d", code)
	}
	return ""
}

// depth is r's depth (see Row.Depth), memoized in depths; limit stops a
// cycle of references.
func depth(r *Row, byID map[string]*Row, depths map[string]int, limit int) int {
	if d, ok := depths[r.SpanID]; ok {
		return d
	}
	d := 0
	p, ok := byID[r.ParentID]
	if ok && p.Service == r.Service && limit > 0 {
		d = depth(p, byID, depths, limit-1) + 1
	}
	depths[r.SpanID] = d
	return d
}

// ancestors counts r's ancestors in the trace, across services, at most
// limit.
func ancestors(r *Row, byID map[string]*Row, limit int) int {
	n := 0
	for p, ok := byID[r.ParentID]; ok && n < limit; p, ok = byID[p.ParentID] {
		n++
	}
	return n
}

// orderID is the order.id of the earliest row whose span has one.
func orderID(rows []*Row) string {
	for _, r := range rows {
		for _, tag := range r.Tags {
			if tag.Key == OrderIDTag {
				return tag.Text()
			}
		}
	}
	return ""
}

// group puts the rows (in time order) into one group per service, the
// services in the order of their first span.
func group(rows []*Row) []*Group {
	var groups []*Group
	bySvc := map[string]*Group{}
	for _, r := range rows {
		g, ok := bySvc[r.Service]
		if !ok {
			g = &Group{Service: r.Service, Color: Color(r.Service)}
			bySvc[r.Service] = g
			groups = append(groups, g)
		}
		g.Rows = append(g.Rows, r)
	}
	return groups
}

// Color is a service's colour.
func Color(service string) string {
	if c, ok := serviceColors[service]; ok {
		return c
	}
	h := fnv.New32a()
	h.Write([]byte(service))
	return extraColors[h.Sum32()%uint32(len(extraColors))]
}

// place gives every heading and row its place, and the drawing its
// height.
func (l *Layout) place() {
	scale := ChartWidth / float64(max(l.Duration, time.Microsecond))
	y := axisHeight
	for _, g := range l.Groups {
		g.Y, g.TextY = y, y+headingH/2+4
		y += headingH
		for _, r := range g.Rows {
			r.Y, r.Mid, r.TextY = y, y+rowH/2, y+rowH/2+4
			r.TextX = labelX + indentStep*float64(r.Depth)
			r.BarX, r.BarY = ChartX+scale*float64(r.Offset), r.Mid-barH/2
			r.BarW = max(scale*float64(r.Duration), 2)
			y += rowH
		}
		y += groupGap
	}
	for i := range l.Ticks {
		l.Ticks[i].X = ChartX + scale*float64(l.Ticks[i].At)
	}
	l.Height = y + bottomPad
}

// hops finds the Kafka hops: consumer rows whose parent is a row of
// another service. They come in the order of the consumers' rows.
func hops(groups []*Group) []*Hop {
	byID := map[string]*Row{}
	for _, g := range groups {
		for _, r := range g.Rows {
			byID[r.SpanID] = r
		}
	}
	var out []*Hop
	for _, g := range groups {
		for _, r := range g.Rows {
			p, ok := byID[r.ParentID]
			if r.Kind != KindConsumer || !ok || p.Service == r.Service {
				continue
			}
			h := &Hop{From: p, To: r, Gap: r.Offset - (p.Offset + p.Duration)}
			h.Path = connector(p, r)
			h.LabelY = r.TextY
			// Left of the arrowhead when it fits between the row's name
			// and its bar, else after the bar.
			if r.BarX-arrowRoom-width(h.Label()) >= r.TextX+width(r.Label())+2*textGap {
				h.LabelX, h.Anchor = r.BarX-arrowRoom, "end"
			} else {
				h.LabelX, h.Anchor = r.End()+textGap, "start"
			}
			out = append(out, h)
		}
	}
	return out
}

// connector is a cubic path from the end of from's bar, leaving it
// vertically from its lower (or, towards a row above, upper) edge so that
// it does not cross the text after the bar, to the start of to's bar,
// arriving horizontally.
func connector(from, to *Row) string {
	x1, y1, x2, y2 := from.End(), from.Mid+barH/2, to.BarX, to.Mid
	dy := (y2 - y1) / 2
	if to.Mid < from.Mid {
		y1 = from.Mid - barH/2
		dy = (y2 - y1) / 2
	}
	k := max((x2-x1)/2, 24)
	return fmt.Sprintf("M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1f", x1, y1, x1, y1+dy, x2-k, y2, x2, y2)
}

// trail places the text after r's bar: the label of a hop into r that did
// not fit before the bar, the duration, then the badges. It returns where
// the text ends.
func trail(r *Row, hops []*Hop) float64 {
	x := r.End() + textGap
	for _, h := range hops {
		if h.To == r && h.Anchor == "start" {
			x += width(h.Label()) + 2*textGap
		}
	}
	r.DurationX = x
	x += width(FormatDuration(r.Duration))
	for _, b := range badges(r) {
		x += 2 * textGap
		b.X, b.Y, b.W, b.TextX = x, r.Mid-badgeH/2, width(b.Text)+2*badgePad, x+badgePad
		r.Badges = append(r.Badges, b)
		x += b.W
	}
	return x
}

// maxBadge bounds a badge's text, in characters; the row's tooltip has
// it all.
const maxBadge = 48

// badges are r's marks: compensation, the saga failure it involves, what
// failed, retries, a duplicate delivery, a missing parent.
func badges(r *Row) []Badge {
	var out []Badge
	if r.Compensation {
		out = append(out, Badge{Class: "compensation-badge", Text: "compensation"})
	}
	if r.Trigger != "" {
		out = append(out, Badge{Class: "trigger-badge", Text: r.Trigger})
	}
	if r.Failure != "" {
		out = append(out, Badge{Class: "failure-badge", Text: truncate(r.Failure, maxBadge)})
	}
	if r.Retries > 0 {
		out = append(out, Badge{Class: "retry-badge", Text: fmt.Sprintf("retried ×%d", r.Retries)})
	}
	if r.Outcome == OutcomeDuplicate {
		out = append(out, Badge{Class: "duplicate-badge", Text: "duplicate"})
	}
	if r.Orphan {
		out = append(out, Badge{Class: "orphan-badge", Text: "parent not in trace"})
	}
	return out
}

// truncate shortens s to at most n characters, ending it with "…" when
// cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// width estimates the drawn width of s in the drawing's monospace font.
func width(s string) float64 { return charW * float64(len([]rune(s))) }

// ticks returns the axis' marks for a trace of length total: 0 and every
// multiple of the step up to total.
func ticks(total time.Duration, n int) []Tick {
	step := tickStep(total, n)
	var out []Tick
	for at := time.Duration(0); at <= total; at += step {
		out = append(out, Tick{At: at, Label: FormatDuration(at)})
	}
	return out
}

// tickStep is the smallest round step (1, 2 or 5 times a power of ten
// microseconds) that cuts total into at most n steps.
func tickStep(total time.Duration, n int) time.Duration {
	for base := time.Microsecond; ; base *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if step := base * m; total/step <= time.Duration(n) {
				return step
			}
		}
	}
}

// FormatDuration prints d for a reader: microseconds below 1 ms, then
// milliseconds with two decimals below 10 ms and one below 1 s, then
// seconds with two decimals below a minute; halves round away from zero.
func FormatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	us := d.Microseconds()
	var s string
	switch {
	case d == 0:
		s = "0"
	case d < time.Millisecond:
		s = fmt.Sprintf("%d µs", us)
	case d < 10*time.Millisecond:
		s = decimals((us+5)/10, 2) + " ms"
	case d < time.Second:
		s = decimals((us+50)/100, 1) + " ms"
	case d < time.Minute:
		s = decimals((us+5000)/10000, 2) + " s"
	default:
		s = d.Round(time.Second).String()
	}
	return sign + s
}

// decimals prints n/10^places with places decimals.
func decimals(n int64, places int) string {
	div := int64(1)
	for range places {
		div *= 10
	}
	return fmt.Sprintf("%d.%0*d", n/div, places, n%div)
}
