package waterfall

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotEnv names the PNG file TestRenderInBrowser writes of the
// cancelled-refund fixture's page, when set: a relative path is taken from
// the repository's root (the directory holding go.work), e.g.
//
//	WATERFALL_SCREENSHOT=docs/img/order-trace.png go test -run TestRenderInBrowser ./outboxctl/internal/waterfall
const screenshotEnv = "WATERFALL_SCREENSHOT"

// viewport is the browser window the pages are drawn in.
const viewportW, viewportH = 1440, 900

// chromium returns the path of a Chromium to drive. Without one the test
// is skipped, or fails under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (Debian: apt-get install -y --no-install-recommends chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium for the test and returns a tab's
// context; it ends with the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(viewportW, viewportH),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox; the pages
		// are this test's own files.
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	return tab
}

// domReport is what the page's DOM says, as the browser laid it out.
type domReport struct {
	SVGWidth, SVGHeight float64
	Scripts, Resources  int
	Rows                []domRow
	Hops                []domHop
}

type domRow struct {
	SpanID, Service    string
	Compensation       bool
	CompensationBadges []string
	BarWidth           float64
}

type domHop struct {
	From, To, Topic, Partition, Offset string
	Label                              string
	PathLength, LabelWidth             float64
}

// reportJS reads the report from the page through the hooks Render
// promises.
const reportJS = `(() => {
	const box = document.querySelector('svg.waterfall').getBoundingClientRect();
	const rows = [...document.querySelectorAll('g.row')].map(g => ({
		SpanID: g.dataset.spanId,
		Service: g.dataset.service,
		Compensation: g.classList.contains('compensation'),
		CompensationBadges: [...g.querySelectorAll('.compensation-badge')]
			.filter(b => b.getBoundingClientRect().width > 0).map(b => b.textContent.trim()),
		BarWidth: g.querySelector('rect.bar').getBoundingClientRect().width,
	}));
	const hops = [...document.querySelectorAll('g.hop')].map(g => ({
		From: g.dataset.fromSpanId, To: g.dataset.toSpanId,
		Topic: g.dataset.topic, Partition: g.dataset.partition, Offset: g.dataset.offset,
		Label: g.querySelector('.hop-label').textContent,
		PathLength: g.querySelector('path.connector').getTotalLength(),
		LabelWidth: g.querySelector('.hop-label').getBBox().width,
	}));
	return {
		SVGWidth: box.width, SVGHeight: box.height,
		Scripts: document.scripts.length,
		Resources: performance.getEntriesByType('resource').length,
		Rows: rows, Hops: hops,
	};
})()`

// TestRenderInBrowser renders each fixture's page in headless Chromium and
// checks, through the DOM as the browser laid it out: a row for every
// span with its service, a drawn connector and a label with the record's
// topic, partition and offset for every Kafka hop, the compensation rows
// marked with a visible badge, a drawing of non-zero size, no script and
// nothing loaded from elsewhere.
func TestRenderInBrowser(t *testing.T) {
	tab := browser(t)
	dir := t.TempDir()
	for _, name := range []string{fixtureRefund, fixtureRelease, fixtureConfirmed} {
		t.Run(name, func(t *testing.T) {
			tr := loadTrace(t, name)
			l, err := Build(tr)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, strings.TrimSuffix(name, ".json")+".html")
			var page bytes.Buffer
			if err := Render(&page, l); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			u := (&url.URL{Scheme: "file", Path: file}).String()
			if err := chromedp.Do(tab, chromedp.EmulateViewport(viewportW, viewportH), chromedp.Navigate(u),
				chromedp.WaitVisible(chromedp.CSS("svg.waterfall g.row"))); err != nil {
				t.Fatalf("loading %s: %v", u, err)
			}
			rep, err := chromedp.Run(tab, chromedp.Evaluate[domReport](reportJS))
			if err != nil {
				t.Fatalf("reading the DOM: %v", err)
			}
			checkDOM(t, tr, l, rep)
			if p := os.Getenv(screenshotEnv); p != "" && name == fixtureRefund {
				screenshot(t, tab, p)
			}
		})
	}
}

// checkDOM compares what the browser shows with trace tr, and l's marks.
func checkDOM(t *testing.T, tr *Trace, l *Layout, rep domReport) {
	t.Helper()
	if rep.SVGWidth <= 0 || rep.SVGHeight < float64(len(tr.Spans))*rowH {
		t.Errorf("the drawing is %.0f×%.0f px for %d spans", rep.SVGWidth, rep.SVGHeight, len(tr.Spans))
	}
	if rep.Scripts != 0 || rep.Resources != 0 {
		t.Errorf("the page has %d scripts and loaded %d resources, want none", rep.Scripts, rep.Resources)
	}
	rows := map[string]domRow{}
	for _, r := range rep.Rows {
		if _, dup := rows[r.SpanID]; dup {
			t.Errorf("two rows for span %s", r.SpanID)
		}
		rows[r.SpanID] = r
	}
	for i := range tr.Spans {
		s := &tr.Spans[i]
		r, ok := rows[s.SpanID]
		switch {
		case !ok:
			t.Errorf("no row for span %s (%s)", s.SpanID, s.OperationName)
		case r.Service != tr.Service(s):
			t.Errorf("row %s of service %q, want %q", s.SpanID, r.Service, tr.Service(s))
		case r.BarWidth <= 0:
			t.Errorf("row %s has no visible bar", s.SpanID)
		}
	}
	if len(rep.Rows) != len(tr.Spans) {
		t.Errorf("%d rows for %d spans", len(rep.Rows), len(tr.Spans))
	}
	checkDOMHops(t, tr, rep.Hops)
	var marked []string
	for _, r := range rep.Rows {
		if r.Compensation {
			marked = append(marked, r.SpanID)
			if !slices.Equal(r.CompensationBadges, []string{"compensation"}) {
				t.Errorf("compensation row %s shows badges %q, want one \"compensation\"", r.SpanID, r.CompensationBadges)
			}
		}
	}
	sort.Strings(marked)
	if want := rowIDs(l, func(r *Row) bool { return r.Compensation }); !slices.Equal(marked, want) {
		t.Errorf("rows marked compensation %q, want %q", marked, want)
	}
}

// checkDOMHops checks that every consumer span whose parent is in another
// service has a drawn, labelled hop, and nothing else has one.
func checkDOMHops(t *testing.T, tr *Trace, hops []domHop) {
	t.Helper()
	byID := map[string]*Span{}
	for i := range tr.Spans {
		byID[tr.Spans[i].SpanID] = &tr.Spans[i]
	}
	got := map[string]domHop{}
	for _, h := range hops {
		got[h.To] = h
	}
	want := 0
	for i := range tr.Spans {
		s := &tr.Spans[i]
		p, ok := byID[s.Parent()]
		if s.TagString("span.kind") != KindConsumer || !ok || tr.Service(p) == tr.Service(s) {
			continue
		}
		want++
		h, ok := got[s.SpanID]
		if !ok {
			t.Errorf("no hop into consumer span %s", s.SpanID)
			continue
		}
		offset, _ := s.TagInt("messaging.kafka.offset")
		ref := fmt.Sprintf("%s/%s@%d", s.TagString("messaging.destination.name"),
			s.TagString("messaging.destination.partition.id"), offset)
		gap := FormatDuration(time.Duration(s.StartTime-p.End()) * time.Microsecond)
		switch {
		case h.From != p.SpanID:
			t.Errorf("hop into %s from %s, want from %s", s.SpanID, h.From, p.SpanID)
		case h.Topic+"/"+h.Partition+"@"+h.Offset != ref:
			t.Errorf("hop into %s is on %s/%s@%s, want %s", s.SpanID, h.Topic, h.Partition, h.Offset, ref)
		case !strings.Contains(h.Label, ref) || !strings.Contains(h.Label, gap):
			t.Errorf("hop into %s labelled %q, want %s and %s", s.SpanID, h.Label, ref, gap)
		case h.PathLength <= 0 || h.LabelWidth <= 0:
			t.Errorf("hop into %s: connector %.1f px long, label %.1f px wide", s.SpanID, h.PathLength, h.LabelWidth)
		}
	}
	if len(hops) != want || want == 0 {
		t.Errorf("%d hops drawn, want %d (and some)", len(hops), want)
	}
}

// screenshot writes the page as a PNG to path (relative: to the
// repository's root).
func screenshot(t *testing.T, tab context.Context, path string) {
	t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(repoRoot(t), path)
	}
	png, err := chromedp.Run(tab, chromedp.Screenshot(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// repoRoot is the nearest directory above the working directory holding
// go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.work above %s", dir)
		}
	}
}
