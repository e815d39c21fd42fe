package waterfall

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestRenderEscapes: names and tag values from Jaeger are text in the
// page, never markup.
func TestRenderEscapes(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	tr := edit(t, loadTrace(t, fixtureRefund), "b2e1d4c3f5a60728", func(s *Span) {
		s.OperationName = evil
		setTag(s, "order.id", "string", mustJSON(t, `"><img src=x onerror=alert(1)>`))
	})
	tr.Processes = map[string]Process{"p1": {ServiceName: `order-service"><b>`}, "p2": tr.Processes["p2"], "p3": tr.Processes["p3"]}
	var page bytes.Buffer
	if err := WriteHTML(&page, tr); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	for _, bad := range []string{"<script", "<img", "<b>", `order-service"`} {
		if strings.Contains(out, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x", `order-service&#34;&gt;&lt;b&gt;`} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks the escaped %q", want)
		}
	}
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRenderSelfContained: the page loads nothing and runs nothing, and
// carries a hook for every row and hop.
func TestRenderSelfContained(t *testing.T) {
	tr := loadTrace(t, fixtureRelease)
	tr.Warnings = []string{"clock skew adjustment disabled"}
	l, err := Build(tr)
	if err != nil {
		t.Fatal(err)
	}
	l.Caption = "CANCELLED (payment FAILED, stock RELEASED): settled"
	var page bytes.Buffer
	if err := Render(&page, l); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "@import", " src=", " href=", "http://", "https://"} {
		// The SVG namespace is a name, not something loaded.
		if strings.Contains(strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, tc := range []struct {
		hook string
		want int
	}{
		{`<g class="row`, len(tr.Spans)},
		{`data-span-id="`, len(tr.Spans)},
		{`<g class="hop"`, len(l.Hops)},
		{`class="badge compensation-badge"`, len(rowIDs(l, func(r *Row) bool { return r.Compensation }))},
		{`<g class="service"`, 3},
		{l.Caption, 1},
		{"<li>Jaeger: clock skew adjustment disabled</li>", 1},
	} {
		if got := strings.Count(out, tc.hook); got != tc.want {
			t.Errorf("%d × %s, want %d", got, tc.hook, tc.want)
		}
	}
}
