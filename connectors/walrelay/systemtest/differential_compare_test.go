package systemtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// diffReport gathers the differences of a wave, per group.
type diffReport struct {
	byGroup map[string][]string
	fields  map[string]int // "<group> <field>" -> count
}

func (d *diffReport) add(group, field, format string, args ...any) {
	if d.byGroup == nil {
		d.byGroup = map[string][]string{}
		d.fields = map[string]int{}
	}
	d.byGroup[group] = append(d.byGroup[group], field+": "+fmt.Sprintf(format, args...))
	d.fields[group+" "+field]++
}

// show renders bytes for a report: null, or a quoted string cut around
// position at (the first difference) to keep reports readable.
func show(b []byte, at int) string {
	if b == nil {
		return "null"
	}
	const window = 160
	s, prefix, suffix := b, "", ""
	if len(b) > 2*window {
		from := max(0, min(at-window/2, len(b)-2*window))
		to := min(len(b), from+2*window)
		s = b[from:to]
		if from > 0 {
			prefix = fmt.Sprintf("…(%d bytes)", from)
		}
		if to < len(b) {
			suffix = fmt.Sprintf("…(%d more bytes, %d in all)", len(b)-to, len(b))
		}
	}
	return prefix + strconv.Quote(string(s)) + suffix
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) && (a == nil) == (b == nil) }

func headerID(r *kgo.Record) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == "id" {
			return string(h.Value), true
		}
	}
	return "", false
}

const runIDHeader = "__debezium.context.runId"

var identityHashRE = regexp.MustCompile(`\[B@[0-9a-f]{1,8}`)

// identityFree blanks the identity hash codes in Java's byte[].toString()
// ("[B@1b6d3586"): arbitrary numbers, different on every run of either side.
func identityFree(b []byte) []byte {
	if b == nil {
		return nil
	}
	return identityHashRE.ReplaceAll(b, []byte("[B@<identity>"))
}

// window is the span in which a processing-time timestamp is plausible.
type window struct{ from, to time.Time }

func (w window) holds(ts time.Time) bool {
	return !ts.Before(w.from.Add(-2*time.Second)) && !ts.After(w.to.Add(2*time.Second))
}

// javaNumberRE matches Java's Double.toString and Float.toString forms.
var javaNumberRE = regexp.MustCompile(`-?[0-9]+\.[0-9]+(E-?[0-9]+)?`)

// sameButJDKDigits reports whether a and b differ only in how numbers of
// one value are written: Java before 19 (JDK-4511638) printed some doubles
// and floats with more digits than the shortest form that reads back the
// same, which Java 19 and later (and walrelay) print.
func sameButJDKDigits(a, b []byte) bool {
	if a == nil || b == nil {
		return false
	}
	ia, ib := javaNumberRE.FindAllIndex(a, -1), javaNumberRE.FindAllIndex(b, -1)
	if len(ia) != len(ib) || len(ia) == 0 {
		return false
	}
	pa, pb := 0, 0
	for i := range ia {
		if !bytes.Equal(a[pa:ia[i][0]], b[pb:ib[i][0]]) {
			return false
		}
		na, nb := string(a[ia[i][0]:ia[i][1]]), string(b[ib[i][0]:ib[i][1]])
		if na != nb && !sameFloat(na, nb) {
			return false
		}
		pa, pb = ia[i][1], ib[i][1]
	}
	return bytes.Equal(a[pa:], b[pb:])
}

func sameFloat(a, b string) bool {
	fa, err1 := strconv.ParseFloat(a, 64)
	fb, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if fa == fb {
		return true
	}
	// A float (Float.toString) written with up to 9 significant digits.
	ga, _ := strconv.ParseFloat(a, 32)
	gb, _ := strconv.ParseFloat(b, 32)
	return significantDigits(a) <= 9 && significantDigits(b) <= 9 && float32(ga) == float32(gb)
}

func significantDigits(s string) int {
	mant, _, _ := strings.Cut(strings.TrimPrefix(s, "-"), "E")
	mant = strings.TrimLeft(strings.Replace(mant, ".", "", 1), "0")
	return len(strings.TrimRight(mant, "0"))
}

// recordDiff is one field in which two records differ.
type recordDiff struct {
	field, text string
	// jdkDigits: the bytes differ only in digits Java before 19 prints.
	jdkDigits bool
}

// compareRecords lists how b (walrelay's) differs from a (Debezium's).
func compareRecords(a, b *kgo.Record, w window) []recordDiff {
	var out []recordDiff
	add := func(field, format string, args ...any) {
		out = append(out, recordDiff{field: field, text: fmt.Sprintf(format, args...)})
	}
	addBytes := func(field string, x, y []byte, format string, args ...any) {
		out = append(out, recordDiff{field: field, text: fmt.Sprintf(format, args...), jdkDigits: sameButJDKDigits(x, y)})
	}
	// A null key without a partition placement goes to the sticky
	// partitioner's choice, which is not deterministic.
	if a.Partition != b.Partition && (a.Key != nil || b.Key != nil) {
		add("partition", "debezium %d, walrelay %d", a.Partition, b.Partition)
	}
	if !sameBytes(a.Key, b.Key) {
		at := firstDiff(a.Key, b.Key)
		add("key", "debezium %s, walrelay %s", show(a.Key, at), show(b.Key, at))
	}
	if !sameBytes(a.Value, b.Value) && !sameBytes(identityFree(a.Value), identityFree(b.Value)) {
		at := firstDiff(a.Value, b.Value)
		addBytes("value", a.Value, b.Value, "first difference at byte %d: debezium %s, walrelay %s (debezium's headers %s)", at, show(a.Value, at), show(b.Value, at), showHeaders(a.Headers))
	}
	if len(a.Headers) != len(b.Headers) {
		add("headers", "debezium %s, walrelay %s", showHeaders(a.Headers), showHeaders(b.Headers))
	} else {
		for i := range a.Headers {
			ha, hb := a.Headers[i], b.Headers[i]
			switch {
			case ha.Key != hb.Key:
				add("header name", "#%d debezium %q, walrelay %q", i, ha.Key, hb.Key)
			case ha.Key == runIDHeader:
				// A random UUID per task start on each side.
				if !uuidRE.Match(ha.Value) || !uuidRE.Match(hb.Value) {
					add("header "+ha.Key, "debezium %s, walrelay %s, want UUIDs", show(ha.Value, 0), show(hb.Value, 0))
				}
			case !sameBytes(ha.Value, hb.Value):
				at := firstDiff(ha.Value, hb.Value)
				addBytes("header "+ha.Key, ha.Value, hb.Value, "#%d debezium %s, walrelay %s", i, show(ha.Value, at), show(hb.Value, at))
			}
		}
	}
	if !a.Timestamp.Equal(b.Timestamp) && !(w.holds(a.Timestamp) && w.holds(b.Timestamp)) {
		add("timestamp", "debezium %d, walrelay %d (not both processing time, %d..%d)",
			a.Timestamp.UnixMilli(), b.Timestamp.UnixMilli(), w.from.UnixMilli(), w.to.UnixMilli())
	}
	return out
}

func showHeaders(hs []kgo.RecordHeader) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+show(h.Value, 0))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

type pairKey struct {
	suffix, id string
	n          int
}

// indexSide indexes one side's records of the wave's namespaced topics by
// topic suffix, id header and occurrence.
func indexSide(col *collection, sd string) (map[pairKey]*kgo.Record, []pairKey) {
	idx := map[pairKey]*kgo.Record{}
	var order []pairKey
	seen := map[[2]string]int{}
	for _, topic := range slices.Sorted(maps.Keys(col.topics)) {
		suffix, ok := strings.CutPrefix(topic, sd+".")
		if !ok || strings.Contains(suffix, ".__debezium-heartbeat.") {
			continue
		}
		recs := col.topics[topic]
		slices.SortStableFunc(recs, func(a, b *kgo.Record) int {
			if a.Partition != b.Partition {
				return int(a.Partition - b.Partition)
			}
			return int(a.Offset - b.Offset)
		})
		for _, r := range recs {
			id, ok := headerID(r)
			if !ok {
				id = "<no id header>"
			}
			k := pairKey{suffix, id, seen[[2]string{suffix, id}]}
			seen[[2]string{suffix, id}]++
			idx[k] = r
			order = append(order, k)
		}
	}
	return idx, order
}

func groupOfSuffix(suffix string) string {
	g, _, _ := strings.Cut(suffix, ".")
	return g
}

var heartbeatValueRE = regexp.MustCompile(`\d{12,}`)

// compare checks the wave: task states, every record pair, raw topics,
// per-partition order, heartbeats, the golden expectations and the
// record counts the writes imply.
func (st *diffStack) compare(wave []*diffGroup, col *collection, exp *expected, since time.Time) waveResult {
	t := st.t
	t.Helper()
	var rep diffReport
	w := window{since, time.Now()}
	byName := map[string]*diffGroup{}
	for _, g := range wave {
		byName[g.name] = g
	}

	// Task states.
	for _, g := range wave {
		var states [2][2]string
		for i, sd := range st.sides() {
			name := sd.name + "-" + g.name
			state, trace, err := taskState(t.Context(), sd.url, name)
			if err != nil {
				t.Fatal(err)
			}
			states[i] = [2]string{state, trace}
		}
		if g.failure != "" {
			for i, sd := range []string{"debezium", "walrelay"} {
				if states[i][0] != "FAILED" {
					rep.add(g.name, "task state", "%s task is %s, want FAILED (%s)", sd, states[i][0], g.failure)
				}
			}
			t.Logf("%s (%s) failed as it must:\n  debezium: %s\n  walrelay: %s", g.name, g.failure, rootCause(states[0][1]), rootCause(states[1][1]))
			if a, b := exceptionClass(rootCause(states[0][1])), exceptionClass(rootCause(states[1][1])); a != b {
				rep.add(g.name, "failure", "debezium's root cause is %s, walrelay's %s", a, b)
			}
			continue
		}
		for i, sd := range []string{"debezium", "walrelay"} {
			if states[i][0] != "RUNNING" {
				rep.add(g.name, "task state", "%s task is %s: %s", sd, states[i][0], rootCause(states[i][1]))
			}
		}
	}

	// Record pairs; a golden case's record is named after the case.
	goldenByID := map[string]string{}
	for _, g := range wave {
		for _, r := range g.golden {
			if r.id != "" {
				goldenByID[g.name+" "+r.id] = r.name
			}
		}
	}
	deb, debOrder := indexSide(col, "deb")
	wal, walOrder := indexSide(col, "wal")
	compared := 0
	for _, k := range debOrder {
		g := groupOfSuffix(k.suffix)
		where := fmt.Sprintf("%s id %q", k.suffix, k.id)
		if name, ok := goldenByID[g+" "+k.id]; ok {
			where = "golden case " + name + ", " + where
		}
		b, ok := wal[k]
		if !ok {
			a := deb[k]
			rep.add(g, "missing", "%s: walrelay has no record #%d of it; debezium's: partition %d key %s value %s headers %s",
				where, k.n, a.Partition, show(a.Key, 0), show(a.Value, 0), showHeaders(a.Headers))
			continue
		}
		compared++
		a := deb[k]
		if grp := byName[g]; grp != nil && grp.sidePrefix && strings.HasSuffix(k.suffix, ".message") {
			a, b = normalizeMessage(a, "deb."+g, w), normalizeMessage(b, "wal."+g, w)
		}
		for _, d := range compareRecords(a, b, w) {
			st.report(&rep, g, d, where)
		}
	}
	for _, k := range walOrder {
		if _, ok := deb[k]; !ok {
			b := wal[k]
			rep.add(groupOfSuffix(k.suffix), "extra", "walrelay has record #%d with id %q on %s that debezium has not: partition %d key %s value %s headers %s",
				k.n, k.id, k.suffix, b.Partition, show(b.Key, 0), show(b.Value, 0), showHeaders(b.Headers))
		}
	}

	// Order within each partition: the pairs must come in the same order
	// on both sides.
	type seqKey struct {
		suffix    string
		partition int32
	}
	seqs := [2]map[seqKey][]pairKey{{}, {}}
	for i, side := range []struct {
		idx   map[pairKey]*kgo.Record
		order []pairKey
		other map[pairKey]*kgo.Record
	}{{deb, debOrder, wal}, {wal, walOrder, deb}} {
		for _, k := range side.order {
			r := side.idx[k]
			if _, ok := side.other[k]; !ok || r.Key == nil {
				continue
			}
			sk := seqKey{k.suffix, r.Partition}
			seqs[i][sk] = append(seqs[i][sk], k)
		}
	}
	for sk, a := range seqs[0] {
		b := seqs[1][sk]
		if len(a) != len(b) {
			continue // already reported as a partition difference
		}
		for i := range a {
			if a[i] != b[i] {
				rep.add(groupOfSuffix(sk.suffix), "order", "%s partition %d: record #%d is id %q on debezium, id %q on walrelay", sk.suffix, sk.partition, i, a[i].id, b[i].id)
				break
			}
		}
	}

	// Topics both sides share: every id twice, in identical records.
	for _, topic := range rawTopics(wave) {
		byID := map[string][]*kgo.Record{}
		var ids []string
		for _, r := range col.topics[topic] {
			id, _ := headerID(r)
			if byID[id] == nil {
				ids = append(ids, id)
			}
			byID[id] = append(byID[id], r)
		}
		g := strings.SplitN(topic, "-", 2)[0]
		if byName[g] == nil {
			g = "shared"
		}
		for _, id := range ids {
			rs := byID[id]
			if len(rs) != 2 {
				rep.add(g, "shared topic", "%s holds %d records with id %q, want one per side", topic, len(rs), id)
				continue
			}
			compared++
			for _, d := range compareRecords(rs[0], rs[1], w) {
				st.report(&rep, g, d, fmt.Sprintf("%s id %q (shared topic, so debezium/walrelay may be swapped)", topic, id))
			}
		}
	}

	// Heartbeats: the same record on both sides but for the clock.
	for _, g := range wave {
		if !g.heartbeat {
			continue
		}
		a, b := col.topics[heartbeatTopic("deb", g)], col.topics[heartbeatTopic("wal", g)]
		if len(a) == 0 || len(b) == 0 {
			rep.add(g.name, "heartbeat", "debezium wrote %d heartbeats, walrelay %d", len(a), len(b))
			continue
		}
		for _, r := range append(slices.Clone(a), b...) {
			if !w.holds(r.Timestamp) {
				rep.add(g.name, "heartbeat timestamp", "%s offset %d: %d is not processing time", r.Topic, r.Offset, r.Timestamp.UnixMilli())
			}
		}
		ha, hb := *a[0], *b[0]
		ha.Value = heartbeatValueRE.ReplaceAll(ha.Value, []byte("<ms>"))
		hb.Value = heartbeatValueRE.ReplaceAll(hb.Value, []byte("<ms>"))
		for _, d := range compareRecords(&ha, &hb, w) {
			d.field = "heartbeat " + d.field
			st.report(&rep, g.name, d, "")
		}
		compared++
	}

	// Debezium's records against the golden file, and the skipped cases
	// left no record on either side.
	goldenRuns := 0
	for _, g := range wave {
		for _, r := range g.golden {
			goldenRuns++
			st.checkGolden(&rep, g, r, col, deb, wal, w)
		}
	}

	// The writes imply how many records each topic gets.
	for _, g := range wave {
		for key, n := range exp.counts[g] {
			if raw, ok := strings.CutPrefix(key, "raw:"); ok {
				if got := col.count(raw); got != 2*n {
					rep.add(g.name, "count", "shared topic %s has %d records, the writes imply %d per side", raw, got, n)
				}
				continue
			}
			s := strings.TrimPrefix(key, "ns:")
			if a, b := col.count("deb."+s), col.count("wal."+s); a != n || b != n {
				rep.add(g.name, "count", "topic %s: debezium %d records, walrelay %d, the writes imply %d", s, a, b, n)
			}
		}
	}

	if len(rep.byGroup) > 0 {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(rep.fields)) {
			fmt.Fprintf(&b, "\n  %-40s %d", k, rep.fields[k])
		}
		for _, g := range slices.Sorted(maps.Keys(rep.byGroup)) {
			about := ""
			if byName[g] != nil {
				about = byName[g].about
			}
			fmt.Fprintf(&b, "\n%s (%s): %d differences", g, about, len(rep.byGroup[g]))
			for i, d := range rep.byGroup[g] {
				if i == 25 {
					fmt.Fprintf(&b, "\n    … %d more", len(rep.byGroup[g])-i)
					break
				}
				fmt.Fprintf(&b, "\n    %s", d)
			}
		}
		t.Errorf("walrelay differs from Debezium:%s", b.String())
	}
	return waveResult{records: compared, golden: goldenRuns}
}

var messageTSRE = regexp.MustCompile(`"op":"m","ts_ms":(\d+)`)

// normalizeMessage returns a logical decoding message record with what
// must differ between the sides blanked: its own topic.prefix in
// source.name, and the processing time in the value's ts_ms when it is
// one.
func normalizeMessage(r *kgo.Record, prefix string, w window) *kgo.Record {
	c := *r
	c.Value = bytes.ReplaceAll(c.Value, []byte(`"name":"`+prefix+`"`), []byte(`"name":"<topic.prefix>"`))
	c.Value = messageTSRE.ReplaceAllFunc(c.Value, func(m []byte) []byte {
		ms, _ := strconv.ParseInt(string(messageTSRE.FindSubmatch(m)[1]), 10, 64)
		if !w.holds(time.UnixMilli(ms)) {
			return m
		}
		return []byte(`"op":"m","ts_ms":<processing time>`)
	})
	return &c
}

// report adds a record difference, unless it is only the digits of a
// number printed by a Connect JVM older than Java 19: those are counted
// and shown in the log.
func (st *diffStack) report(rep *diffReport, group string, d recordDiff, where string) {
	if where != "" {
		where += ": "
	}
	if d.jdkDigits && st.javaMajor < 19 {
		st.jdkDigits++
		if st.jdkDigits <= 3 {
			st.t.Logf("%s %s: %s%s (tolerated: the Connect JVM is Java %d, which prints this number with more digits than Java 19+)", group, d.field, where, d.text, st.javaMajor)
		}
		return
	}
	rep.add(group, d.field, "%s%s", where, d.text)
}

// checkGolden compares Debezium's record of a golden run with the golden
// file's expectation (the file must describe the real Debezium), and
// checks that skipped and failing cases produced nothing on either side.
func (st *diffStack) checkGolden(rep *diffReport, g *diffGroup, r *goldenRun, col *collection, deb, wal map[pairKey]*kgo.Record, w window) {
	exp := r.exp
	field := "golden " + r.name
	if r.gc.Op == "heartbeat" {
		recs := col.topics[heartbeatTopic("deb", g)]
		if len(recs) == 0 {
			return // reported with the heartbeats
		}
		got := recs[0]
		if topic := strings.TrimPrefix(got.Topic, "deb."+g.name+"."); topic != exp.Topic {
			rep.add(g.name, field, "topic %q, golden file %q", topic, exp.Topic)
		}
		if exp.Partition != nil && got.Partition != *exp.Partition {
			rep.add(g.name, field, "partition %d, golden file %d", got.Partition, *exp.Partition)
		}
		if want := bytesOf(st.t, exp.Key); !sameBytes(got.Key, want) {
			rep.add(g.name, field, "key %s, golden file %s", show(got.Key, 0), show(want, 0))
		}
		if want := regexp.QuoteMeta(string(bytesOf(st.t, exp.Value))); !regexp.MustCompile("^" + strings.ReplaceAll(want, "<now>", `\d+`) + "$").Match(got.Value) {
			rep.add(g.name, field, "value %s, golden file %s", show(got.Value, 0), show(bytesOf(st.t, exp.Value), 0))
		}
		if len(got.Headers) != len(exp.Headers) {
			rep.add(g.name, field, "headers %s, golden file %v", showHeaders(got.Headers), exp.Headers)
		}
		return
	}
	if !r.produces() {
		for _, idx := range []map[pairKey]*kgo.Record{deb, wal} {
			for k := range idx {
				if k.id == r.id && groupOfSuffix(k.suffix) == g.name {
					rep.add(g.name, field, "the case must produce nothing, but %s has id %q", k.suffix, k.id)
				}
			}
		}
		return
	}
	key := r.topicKey(g)
	suffix := strings.TrimPrefix(key, "ns:")
	got := deb[pairKey{suffix, r.id, 0}]
	if got == nil {
		rep.add(g.name, field, "debezium produced no record with id %q on %s", r.id, suffix)
		return
	}
	if topic := strings.TrimPrefix(suffix, g.name+"."); topic != exp.Topic {
		rep.add(g.name, field, "topic %q, golden file %q", topic, exp.Topic)
	}
	switch {
	case exp.Partition != nil && got.Partition != *exp.Partition:
		rep.add(g.name, field, "partition %d, golden file %d", got.Partition, *exp.Partition)
	case exp.Partition == nil && exp.Murmur2 != nil && got.Partition != *exp.Murmur2:
		rep.add(g.name, field, "partition %d, golden file (murmur2 over 3 partitions) %d", got.Partition, *exp.Murmur2)
	}
	if want := bytesOf(st.t, exp.Key); !sameBytes(got.Key, want) {
		at := firstDiff(got.Key, want)
		rep.add(g.name, field, "key %s, golden file %s", show(got.Key, at), show(want, at))
	}
	want := bytesOf(st.t, exp.Value)
	if exp.ValueB64 != nil {
		var err error
		if want, err = base64.StdEncoding.DecodeString(*exp.ValueB64); err != nil {
			st.t.Fatal(err)
		}
	}
	if !sameBytes(got.Value, want) {
		at := firstDiff(got.Value, want)
		rep.add(g.name, field, "value %s, golden file %s", show(got.Value, at), show(want, at))
	}
	if len(got.Headers) != len(exp.Headers) {
		rep.add(g.name, field, "headers %s, golden file %v", showHeaders(got.Headers), exp.Headers)
	} else {
		for i, h := range exp.Headers {
			gh := got.Headers[i]
			switch {
			case gh.Key != h.Key:
				rep.add(g.name, field, "header #%d %q, golden file %q", i, gh.Key, h.Key)
			case h.Value == nil:
				if gh.Value != nil {
					rep.add(g.name, field, "header %s %s, golden file null", h.Key, show(gh.Value, 0))
				}
			case *h.Value == "<RANDOM-UUID-PER-TASK-START>":
				if !uuidRE.Match(gh.Value) {
					rep.add(g.name, field, "header %s %s, golden file a UUID", h.Key, show(gh.Value, 0))
				}
			case !sameBytes(gh.Value, []byte(*h.Value)):
				rep.add(g.name, field, "header %s %s, golden file %q", h.Key, show(gh.Value, 0), *h.Value)
			}
		}
	}
	if exp.TimestampMs != nil {
		if got.Timestamp.UnixMilli() != *exp.TimestampMs {
			rep.add(g.name, field, "timestamp %d, golden file %d", got.Timestamp.UnixMilli(), *exp.TimestampMs)
		}
	} else if !w.holds(got.Timestamp) {
		rep.add(g.name, field, "timestamp %d is not processing time", got.Timestamp.UnixMilli())
	}
}

// rootCause is the innermost exception line of a Java stack trace (or of
// walrelay's trace, which reads like one).
func rootCause(trace string) string {
	lines := strings.Split(trace, "\n")
	cause := strings.TrimSpace(lines[0])
	for _, l := range lines {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "Caused by: "); ok {
			cause = c
		}
	}
	return cause
}

// exceptionClass is the simple class name of an exception line.
func exceptionClass(line string) string {
	cls, _, _ := strings.Cut(line, ":")
	if i := strings.LastIndexByte(cls, '.'); i >= 0 {
		cls = cls[i+1:]
	}
	return strings.TrimSpace(cls)
}
