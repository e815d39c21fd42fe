package waterfall

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed waterfall.html.tmpl
var pageSource string

// page is the HTML page; html/template escapes every value put in it.
var page = template.Must(template.New("waterfall").Funcs(template.FuncMap{
	"px":      func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add":     func(a, b float64) float64 { return a + b },
	"dur":     FormatDuration,
	"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000 MST") },
	"tooltip": tooltip,
}).Parse(pageSource))

// view is what the page is rendered from: the layout and the drawing's
// fixed measures.
type view struct {
	*Layout
	LabelX, ServiceTextX                 float64
	AxisTop, AxisLabelY, GridBottom      float64
	HeadingH, RowH, BarH, BadgeH, BadgeR float64
}

// Render writes l, as Build made it (its Caption set or not), as one
// self-contained HTML page: inline CSS and SVG, no
// script, no external resource. Every span is a <g class="row"> with
// data-span-id and data-service, every Kafka hop a <g class="hop"> with
// data-topic, data-partition and data-offset and its label, and rows
// that compensate carry the class "compensation" and a badge saying so.
func Render(w io.Writer, l *Layout) error {
	v := view{
		Layout: l, LabelX: labelX, ServiceTextX: labelX + 16,
		AxisTop: axisHeight - 8, AxisLabelY: axisHeight - 14, GridBottom: l.Height - bottomPad,
		HeadingH: headingH, RowH: rowH, BarH: barH, BadgeH: badgeH, BadgeR: badgeH / 2,
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("rendering the waterfall: %w", err)
	}
	return nil
}

// WriteHTML lays t out and renders it with Render.
func WriteHTML(w io.Writer, t *Trace) error {
	l, err := Build(t)
	if err != nil {
		return err
	}
	return Render(w, l)
}

// Spans counts the layout's rows.
func (l *Layout) Spans() int {
	n := 0
	for _, g := range l.Groups {
		n += len(g.Rows)
	}
	return n
}

// tooltip is a row's details: name, service and kind, times, and every
// tag.
func tooltip(r *Row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s, %s span %s", r.Name, r.Service, r.Kind, r.SpanID)
	fmt.Fprintf(&b, "\nstarts at +%s, lasts %s", FormatDuration(r.Offset), FormatDuration(r.Duration))
	for _, t := range r.Tags {
		fmt.Fprintf(&b, "\n%s = %s", t.Key, t.Text())
	}
	for _, e := range r.Events {
		b.WriteString("\nevent " + e)
	}
	return b.String()
}
