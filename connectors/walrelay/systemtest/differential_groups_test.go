package systemtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// diffGroup is one connector configuration, registered on both sides, and
// the tables and writes it captures.
type diffGroup struct {
	name  string // [a-z0-9]: names tables, slots, connectors and topics
	about string
	// conf holds the connector keys beyond the common ones (converters,
	// transforms.outbox.*, connector options). The topic replacement in it
	// is the un-namespaced one.
	conf      map[string]string
	snapshot  bool // snapshot.mode=initial: pre-rows are read by the snapshot
	heartbeat bool // heartbeat records are compared too
	// sidePrefix gives each side its own topic.prefix (deb.<group>,
	// wal.<group>), so logical decoding messages, which go to
	// <topic.prefix>.message, land in each side's namespace.
	sidePrefix bool
	// failure, when set, says why both tasks must end FAILED: failSQL runs
	// after the group's other writes and must fail them.
	failure string
	failSQL []string
	tables  []*diffTable
	golden  []*goldenRun

	// routeVals are the routing values the workload writes.
	routeVals   []string
	full, regex *regexp.Regexp
}

// diffCol is a column of a group table; gen fills it in generated rows.
type diffCol struct {
	name, typ string
	pk        bool
	notNull   bool
	gen       valueGen
}

// diffTable is a table of a group: a golden case's table or a workload table.
type diffTable struct {
	group       *diffGroup
	name        string
	cols        []diffCol
	replicaFull bool

	rows    int // generated inserts, of which preRows are written before the connectors start
	preRows int
	// Per transaction: how likely it also updates a row (a non-key
	// column), changes a row's primary key, deletes a row.
	updates, pkUpdates, deletes float64
	truncate                    bool    // one TRUNCATE in the middle of the writes
	messages                    float64 // per transaction: how likely it also emits logical decoding messages
	bigTx                       int     // the table's first transaction inserts this many rows
	updCol                      string  // the column non-key updates change
}

func (tb *diffTable) ddl() string {
	var defs []string
	for _, c := range tb.cols {
		d := pgIdent(c.name) + " " + c.typ
		if c.pk {
			d += " PRIMARY KEY"
		} else if c.notNull {
			d += " NOT NULL"
		}
		defs = append(defs, d)
	}
	return fmt.Sprintf("CREATE TABLE %s (%s)", pgIdent(tb.name), strings.Join(defs, ", "))
}

func (tb *diffTable) pkCol() *diffCol {
	for i := range tb.cols {
		if tb.cols[i].pk {
			return &tb.cols[i]
		}
	}
	return nil
}

func (tb *diffTable) col(name string) *diffCol {
	for i := range tb.cols {
		if tb.cols[i].name == name {
			return &tb.cols[i]
		}
	}
	return nil
}

// goldenRun is one golden case (or variant) written into its own table.
type goldenRun struct {
	name  string
	gc    goldenCase
	exp   expectation
	id    string // the event id written; unique in the test
	table *diffTable
}

func (g *diffGroup) routerKey(k string) string { return g.conf["transforms.outbox."+k] }

func (g *diffGroup) replacement() string {
	if r := g.routerKey("route.topic.replacement"); r != "" {
		return r
	}
	return "outbox.event.${routedByValue}"
}

func (g *diffGroup) topicPrefix() string {
	if p := g.conf["topic.prefix"]; p != "" {
		return p
	}
	return g.name
}

func (g *diffGroup) field(key, def string) string {
	if v := g.routerKey(key); v != "" {
		return v
	}
	return def
}

func (g *diffGroup) routeCol() string   { return g.field("route.by.field", "aggregatetype") }
func (g *diffGroup) keyCol() string     { return g.field("table.field.event.key", "aggregateid") }
func (g *diffGroup) payloadCol() string { return g.field("table.field.event.payload", "payload") }
func (g *diffGroup) idCol() string      { return g.field("table.field.event.id", "id") }
func (g *diffGroup) expand() bool       { return g.routerKey("table.expand.json.payload") == "true" }

// topicKey is where a row with routing value v goes: "ns:<group>.<topic>"
// for a routed topic (deb.<group>.<topic> and wal.<group>.<topic>), or
// "raw:<value>" when the regex does not match and both sides use the
// value itself. Like Kafka's RegexRouter, a full match decides and the
// leftmost match is replaced (Matcher.replaceFirst), the rest kept; the
// test's patterns mean the same to Go's regexp as to java.util.regex.
func (g *diffGroup) topicKey(v string) string {
	if g.regex == nil {
		re := g.routerKey("route.topic.regex")
		if re == "" {
			re = "(?<routedByValue>.*)"
		}
		g.full = regexp.MustCompile(`^(?:` + re + `)$`)
		g.regex = regexp.MustCompile(re)
	}
	if !g.full.MatchString(v) {
		return "raw:" + v
	}
	loc := g.regex.FindStringSubmatchIndex(v)
	topic := v[:loc[0]] + string(g.regex.ExpandString(nil, g.replacement(), v, loc)) + v[loc[1]:]
	return "ns:" + g.name + "." + topic
}

// diffGroups returns every group: the golden cases grouped by identical
// configuration, then the generated workload's groups.
func diffGroups(t *testing.T) []*diffGroup {
	t.Helper()
	groups := goldenGroups(t)
	groups = append(groups, workloadGroups()...)
	for _, g := range groups {
		for _, tb := range g.tables {
			tb.group = g
		}
		if g.routeVals == nil {
			g.routeVals = routeValues
		}
		for _, tb := range g.tables {
			if c := tb.col(g.routeCol()); c != nil && c.gen != nil {
				vals := g.routeVals
				c.gen = func(gn *gen) *string { return sp(gn.pick(vals...)) }
			}
		}
	}
	return groups
}

// goldenID is the event id a golden run writes: the case's id made unique
// per run, so records pair up by their "id" header. The golden file gives
// most cases the same id.
func goldenID(orig string, n int) string {
	if uuidRE.MatchString(orig) {
		return fmt.Sprintf("%s%012d", orig[:24], n)
	}
	return orig
}

// goldenGroups reads testdata/debezium-golden.json and groups its cases
// and variants by configuration. Each case gets a table of its own in its
// group; a case whose task must fail gets a group of its own. Each group
// also gets a generated workload on a table per distinct golden column set.
func goldenGroups(t *testing.T) []*diffGroup {
	t.Helper()
	raw, err := os.ReadFile("../testdata/debezium-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*diffGroup{}
	var groups []*diffGroup
	nRun := 0
	add := func(gc goldenCase, name string, conv converters, exp expectation) {
		nRun++
		conf := gc.settings(conv)
		if gc.Op == "heartbeat" {
			// The interval does not change the record; a short one keeps
			// the test fast.
			conf["heartbeat.interval.ms"] = "1000"
		}
		keyJSON, _ := json.Marshal(struct {
			C    map[string]string
			Snap bool
		}{conf, gc.Op == "r"})
		key := string(keyJSON)
		if exp.Error != "" {
			key += "/" + name // a task that fails serves one case only
		}
		g := byKey[key]
		if g == nil {
			g = &diffGroup{conf: conf, snapshot: gc.Op == "r", heartbeat: gc.Op == "heartbeat"}
			if exp.Error != "" {
				g.name = fmt.Sprintf("e%02d", len(groups)+1)
				g.failure = exp.Error
			} else {
				g.name = fmt.Sprintf("g%02d", len(groups)+1)
			}
			g.about = "golden " + name
			byKey[key] = g
			groups = append(groups, g)
		} else {
			g.about += ", " + name
		}
		run := &goldenRun{name: name, gc: gc, exp: exp}
		if id := gc.Row["id"]; id != nil {
			run.id = goldenID(*id, nRun)
		}
		// The expected headers carry the substituted id.
		exp.Headers = slices.Clone(exp.Headers)
		for i, h := range exp.Headers {
			if h.Value != nil && gc.Row["id"] != nil && *h.Value == *gc.Row["id"] {
				exp.Headers[i].Value = &run.id
			}
		}
		run.exp = exp
		tb := &diffTable{name: fmt.Sprintf("%s_c%d", g.name, len(g.golden)+1)}
		for _, c := range gc.Columns {
			col := diffCol{name: c.Name, typ: c.Type}
			switch {
			case c.Name == "id":
				col.pk = true
			case (c.Name == "aggregatetype" || c.Name == "aggregateid" || c.Name == "type") && gc.Row[c.Name] != nil:
				col.notNull = true
			}
			tb.cols = append(tb.cols, col)
		}
		run.table = tb
		g.tables = append(g.tables, tb)
		g.golden = append(g.golden, run)
	}
	for _, gc := range cases {
		add(gc, gc.Name, gc.Config.Converters, gc.Expect)
		for i, v := range gc.Variants {
			exp := gc.Expect
			if v.Key != nil {
				exp.Key = v.Key
			}
			if v.Value != nil {
				exp.Value = v.Value
			}
			add(gc, fmt.Sprintf("%s_v%d", gc.Name, i+1), v.Converters, exp)
		}
	}
	for _, g := range groups {
		addGoldenWorkload(g)
	}
	return groups
}

// addGoldenWorkload gives a golden group generated rows: a table for each
// distinct column set of its cases, filled by generators chosen by each
// column's role in the group's router config.
func addGoldenWorkload(g *diffGroup) {
	seen := map[string]bool{}
	var sets [][]diffCol
	for _, r := range g.golden {
		var sig []string
		for _, c := range r.table.cols {
			sig = append(sig, c.name+" "+c.typ)
		}
		if k := strings.Join(sig, ","); !seen[k] {
			seen[k] = true
			sets = append(sets, r.table.cols)
		}
	}
	rows := 130
	switch {
	case g.failure != "":
		rows = 12
	case g.heartbeat:
		rows = 60
	case g.snapshot:
		rows = 450
	case g.name == "g01":
		// The default configuration takes the bulk of the rows, with one
		// transaction of hundreds of events and a TRUNCATE.
		rows = 1000
	}
	if g.routerKey("route.topic.regex") != "" {
		g.routeVals = []string{"order", "invoice", g.name + "-raw", g.name + "-raw.2"}
	}
	for i, cols := range sets {
		tb := &diffTable{name: fmt.Sprintf("%s_w%d", g.name, i+1), rows: rows / len(sets), updCol: "type",
			updates: 0.2, pkUpdates: 0.1, deletes: 0.1}
		for _, c := range cols {
			c.gen = goldenColumnGen(g, c)
			if c.gen == nil {
				tb = nil // a column the workload cannot fill without failing the task
				break
			}
			if c.name == g.routeCol() {
				c.notNull = true
			}
			if c.notNull {
				c.gen = nonNull(c.gen)
			}
			tb.cols = append(tb.cols, c)
		}
		if tb == nil {
			continue
		}
		if g.snapshot {
			tb.preRows = tb.rows * 2 / 3
		}
		if g.name == "g01" && i == 0 {
			tb.rows, tb.bigTx, tb.truncate = 650, 500, true
		}
		if g.failure != "" {
			tb.updates, tb.pkUpdates, tb.deletes = 0, 0, 0
		}
		g.tables = append(g.tables, tb)
	}
}

func goldenColumnGen(g *diffGroup, c diffCol) valueGen {
	expand := g.expand()
	switch {
	case c.name == g.idCol() && c.typ == "uuid":
		return genUUID
	case c.name == g.idCol():
		return genSeq
	case c.name == g.routeCol():
		return func(gn *gen) *string { return sp(gn.pick(g.routeVals...)) }
	case c.name == g.keyCol():
		return nullable(0.05, genKey)
	case c.name == g.payloadCol():
		return payloadGen(c.typ, expand, true)
	case c.name == g.routerKey("table.field.event.timestamp"):
		if c.typ != "timestamp" {
			return nil
		}
		return nullable(0.1, genTS)
	case c.name == "type":
		return genType
	case c.typ == "varchar(255)" || c.typ == "varchar(64)" || c.typ == "text":
		return genText
	}
	return nil
}

// payloadGen fills a payload column of the given type.
func payloadGen(typ string, expand, allowLarge bool) valueGen {
	return nullable(0.05, func(g *gen) *string {
		size := g.payloadSize(allowLarge)
		switch typ {
		case "jsonb":
			return sp(g.jsonDoc(jsonOpts{expandable: expand}, size))
		case "json":
			return sp(g.jsonDoc(jsonOpts{expandable: expand, verbatim: true}, size))
		case "bytea":
			if g.chance(0.05) {
				return sp(`\x`)
			}
			return sp(g.bytea(size))
		default:
			return sp(g.textPayload(size, jsonOpts{expandable: expand, verbatim: true}))
		}
	})
}

// Columns for header and envelope placements: every type the router reads.
func placementCols() []diffCol {
	return []diffCol{
		{name: "c_int2", typ: "smallint", gen: nullable(0.1, genInt2)},
		{name: "c_int4", typ: "integer", gen: nullable(0.1, genInt4)},
		{name: "c_int8", typ: "bigint", gen: nullable(0.1, genInt8)},
		{name: "c_bool", typ: "boolean", gen: nullable(0.1, genBool)},
		{name: "c_num", typ: "numeric(12,3)", gen: nullable(0.1, genNumeric)},
		{name: "c_f4", typ: "real", gen: nullable(0.1, genFloat4)},
		{name: "c_f8", typ: "double precision", gen: nullable(0.1, genFloat8)},
		{name: "c_date", typ: "date", gen: nullable(0.1, genDate)},
		{name: "c_ts", typ: "timestamp", gen: nullable(0.1, genTSAny)},
		{name: "c_ts3", typ: "timestamp(3)", gen: nullable(0.1, genTSAny)},
		{name: "c_tstz", typ: "timestamptz", gen: nullable(0.1, genTSTZ)},
		{name: "c_tstz3", typ: "timestamptz(3)", gen: nullable(0.1, genTSTZ)},
		{name: "c_tstz0", typ: "timestamptz(0)", gen: nullable(0.1, genTSTZ)},
		{name: "c_uuid", typ: "uuid", gen: nullable(0.1, genUUID)},
		{name: "c_text", typ: "text", gen: nullable(0.1, genText)},
		{name: "c_vc", typ: "varchar(40)", gen: nullable(0.1, genText)},
		{name: "c_char", typ: "char(8)", gen: nullable(0.1, genChar)},
		{name: "c_jsonb", typ: "jsonb", gen: nullable(0.1, genJSONB)},
		{name: "c_bytea", typ: "bytea", gen: nullable(0.1, genBytea)},
		{name: "c_xml", typ: "xml", gen: nullable(0.1, genXML)},
	}
}

// placements lists cols as "<col>:<where>" entries, every third with an alias.
func placements(cols []diffCol, where string) string {
	var out []string
	for i, c := range cols {
		e := c.name + ":" + where
		if i%3 == 1 {
			e += ":" + strings.ToUpper(c.name[2:3]) + c.name[3:] + "Alias"
		}
		out = append(out, e)
	}
	return strings.Join(out, ",")
}

func outboxCols(idGen valueGen, idType, keyType string, keyGen valueGen, payloadType string, payload valueGen) []diffCol {
	return []diffCol{
		{name: "id", typ: idType, pk: true, gen: idGen},
		{name: "aggregatetype", typ: "varchar(255)", notNull: true, gen: genRoute},
		{name: "aggregateid", typ: keyType, gen: keyGen},
		{name: "type", typ: "varchar(255)", gen: genType},
		{name: "payload", typ: payloadType, gen: payload},
	}
}

func strConvs() map[string]string {
	return map[string]string{
		"key.converter":            "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":          "org.apache.kafka.connect.storage.StringConverter",
		"extended.headers.enabled": "false",
	}
}

func conv(kind string) map[string]string {
	out := converterProps("key.converter", kind)
	maps.Copy(out, converterProps("value.converter", kind))
	return out
}

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// workloadGroups are the configurations beyond the golden file's: every
// converter for keys, values and headers, every placement, the renamed
// fields, partitions, timestamps, expansion with schemas, and the
// failures a configuration or a write must cause.
func workloadGroups() []*diffGroup {
	const (
		sc  = "org.apache.kafka.connect.storage.StringConverter"
		jc  = "org.apache.kafka.connect.json.JsonConverter"
		bac = "org.apache.kafka.connect.converters.ByteArrayConverter"
	)
	pc := placementCols()
	pcJSON := append(slices.Clone(pc), diffCol{name: "c_numany", typ: "numeric", gen: nullable(0.1, genNumericAny)})
	std := func(name string, cols []diffCol, rows int) *diffTable {
		return &diffTable{name: name, cols: cols, rows: rows, updCol: "type", updates: 0.2, pkUpdates: 0.1, deletes: 0.1}
	}
	outbox := func(payloadType string, expand bool) []diffCol {
		return outboxCols(genUUID, "uuid", "varchar(255)", nullable(0.05, genKey), payloadType, payloadGen(payloadType, expand, true))
	}

	var groups []*diffGroup

	// Bytes end to end; context headers on (the default); unread columns
	// of types the router never reads.
	w := &diffGroup{name: "w01", about: "ByteArrayConverter key and value, bytea key and payload, context headers, unread array/inet/interval columns",
		conf: map[string]string{"key.converter": bac, "value.converter": bac}}
	cols := outboxCols(genUUID, "uuid", "bytea", nullable(0.05, genBytea), "bytea", payloadGen("bytea", false, true))
	cols = append(cols,
		diffCol{name: "tags", typ: "text[]", gen: oneOf(`{a,b}`, `{}`, `{"x y",NULL}`)},
		diffCol{name: "ip", typ: "inet", gen: nullable(0.3, oneOf("10.0.0.1", "::1", "192.168.0.0/16"))},
		diffCol{name: "dur", typ: "interval", gen: oneOf("1 day", "-00:00:01", "P1Y2M")})
	w.tables = []*diffTable{std("w01_t", cols, 450)}
	groups = append(groups, w)

	// JsonConverter with schemas on both sides, every type in the
	// envelope, decimals as numbers, a schema version column.
	w = &diffGroup{name: "w02", about: "JsonConverter schemas on, int8 key, every type in the envelope, decimal.format=NUMERIC, schema.version",
		conf: merged(conv("json_schemas"), map[string]string{
			"value.converter.decimal.format":                      "NUMERIC",
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.fields.additional.placement": "type:envelope:eventType," + placements(pcJSON, "envelope") + ",type:header:eventType",
			"transforms.outbox.table.field.event.schema.version":  "ver",
		})}
	cols = outboxCols(genSeq, "bigint", "bigint", nullable(0.05, genInt8), "jsonb", payloadGen("jsonb", false, true))
	cols = append(cols, diffCol{name: "ver", typ: "integer", gen: nullable(0.2, oneOf("1", "2", "3"))})
	w.tables = []*diffTable{std("w02_t", append(cols, pcJSON...), 400)}
	groups = append(groups, w)

	// Schemaless JSON, expansion, envelope, tombstones on empty payloads.
	w = &diffGroup{name: "w03", about: "JsonConverter schemas off, expand.json.payload, envelope placements, tombstone on empty payload",
		conf: merged(conv("json"), map[string]string{
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.expand.json.payload":         "true",
			"transforms.outbox.route.tombstone.on.empty.payload":  "true",
			"transforms.outbox.table.fields.additional.placement": "type:envelope:eventType,id:envelope:eventId,aggregatetype:header:agg,c_num:envelope,c_date:envelope,c_tstz:envelope:at,c_bool:envelope,c_f8:envelope,c_bytea:envelope,c_ts:envelope",
		})}
	cols = outbox("jsonb", true)
	for _, c := range pc {
		switch c.name {
		case "c_num", "c_date", "c_tstz", "c_bool", "c_f8", "c_bytea", "c_ts":
			cols = append(cols, c)
		}
	}
	w.tables = []*diffTable{std("w03_t", cols, 400)}
	groups = append(groups, w)

	// Every type as a header through SimpleHeaderConverter, routed by a
	// custom column through a regex that some values do not match.
	w = &diffGroup{name: "w04", about: "SimpleHeaderConverter headers of every type, context headers, route.by.field, route.topic.regex with unmatched values, text payload",
		conf: map[string]string{
			"key.converter": sc, "value.converter": sc,
			"transforms.outbox.route.by.field":                    "category",
			"transforms.outbox.route.topic.regex":                 `(?<routedByValue>order|payment|inv.*)`,
			"transforms.outbox.route.topic.replacement":           "${routedByValue}.evt",
			"transforms.outbox.table.field.event.type":            "evt_kind",
			"transforms.outbox.table.fields.additional.placement": "evt_kind:header:eventType," + placements(pc, "header"),
		},
		routeVals: []string{"order", "payment", "inventory", "inv", "w04-raw", "w04-raw.b"}}
	cols = []diffCol{
		{name: "id", typ: "uuid", pk: true, gen: genUUID},
		{name: "category", typ: "text", notNull: true, gen: genRoute},
		{name: "aggregateid", typ: "varchar(255)", gen: nullable(0.05, genKey)},
		{name: "evt_kind", typ: "varchar(255)", gen: nullable(0.1, genType)},
		{name: "payload", typ: "text", gen: payloadGen("text", false, true)},
	}
	w.tables = []*diffTable{{name: "w04_t", cols: append(cols, pc...), rows: 400, updCol: "evt_kind", updates: 0.2, pkUpdates: 0.15, deletes: 0.1}}
	groups = append(groups, w)

	// JsonConverter as the header converter.
	w = &diffGroup{name: "w05", about: "JsonConverter header converter (schemas on), every type as a header, primary-key updates (__debezium.oldkey)",
		conf: merged(map[string]string{
			"key.converter": jc, "key.converter.schemas.enable": "true",
			"value.converter":                                     sc,
			"header.converter":                                    jc,
			"header.converter.schemas.enable":                     "true",
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.fields.additional.placement": placements(pcJSON, "header"),
		})}
	w.tables = []*diffTable{{name: "w05_t", cols: append(outbox("jsonb", false), pcJSON...), rows: 350, updCol: "type", updates: 0.1, pkUpdates: 0.3, deletes: 0.1}}
	groups = append(groups, w)

	// Renamed fields, REPLICA IDENTITY FULL, op.invalid.behavior=error,
	// tombstones on (Java-)empty text payloads.
	w = &diffGroup{name: "w06", about: "renamed id/key/payload/route fields, int4 key, REPLICA IDENTITY FULL, table.op.invalid.behavior=error, tombstone on empty text",
		conf: merged(map[string]string{
			"key.converter": sc, "value.converter": jc, "value.converter.schemas.enable": "false",
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.field.event.id":              "event_id",
			"transforms.outbox.table.field.event.key":             "agg_key",
			"transforms.outbox.table.field.event.payload":         "body",
			"transforms.outbox.route.by.field":                    "category",
			"transforms.outbox.table.op.invalid.behavior":         "error",
			"transforms.outbox.route.tombstone.on.empty.payload":  "true",
			"transforms.outbox.table.fields.additional.placement": "agg_key:header:aggKey,note:header",
		})}
	w.tables = []*diffTable{{name: "w06_t", replicaFull: true, rows: 400, updCol: "note", updates: 0.3, pkUpdates: 0.3, deletes: 0.2, cols: []diffCol{
		{name: "event_id", typ: "bigint", pk: true, gen: genSeq},
		{name: "category", typ: "varchar(100)", notNull: true, gen: genRoute},
		{name: "agg_key", typ: "integer", gen: nullable(0.1, genInt4)},
		{name: "body", typ: "text", gen: payloadGen("text", false, true)},
		{name: "note", typ: "text", gen: nullable(0.3, genText)},
	}}}
	groups = append(groups, w)

	// Explicit partitions, a timestamp(3) column as the record timestamp.
	w = &diffGroup{name: "w07", about: "partition placement, timestamp(3) event timestamp, JsonConverter schemas on value, json payload",
		conf: merged(map[string]string{
			"key.converter": sc, "value.converter": jc, "value.converter.schemas.enable": "true",
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.field.event.timestamp":       "ts3",
			"transforms.outbox.table.fields.additional.placement": "part:partition,type:header:eventType",
		})}
	cols = outboxCols(genUUID, "uuid", "varchar(255)", genKey, "json", payloadGen("json", false, true))
	cols[2].notNull = true
	cols = append(cols,
		diffCol{name: "part", typ: "integer", gen: nullable(0.1, oneOf("0", "1", "2"))},
		diffCol{name: "ts3", typ: "timestamp(3)", gen: nullable(0.1, genTS)})
	w.tables = []*diffTable{std("w07_t", cols, 400)}
	groups = append(groups, w)

	// Expansion inferring schemas that JsonConverter then writes out,
	// nulls kept as optional bytes, from a json (verbatim) column.
	w = &diffGroup{name: "w08", about: "expand.json.payload with JsonConverter schemas on, json.payload.null.behavior=optional_bytes, verbatim json payload, timestamp(6) event timestamp",
		conf: merged(map[string]string{
			"key.converter": jc, "key.converter.schemas.enable": "false",
			"value.converter": jc, "value.converter.schemas.enable": "true",
			"extended.headers.enabled":                           "false",
			"transforms.outbox.table.expand.json.payload":        "true",
			"transforms.outbox.table.json.payload.null.behavior": "optional_bytes",
			"transforms.outbox.table.field.event.timestamp":      "created_at",
		})}
	cols = outbox("json", true)
	cols = append(cols, diffCol{name: "created_at", typ: "timestamp(6)", gen: nullable(0.1, genTS)})
	w.tables = []*diffTable{std("w08_t", cols, 400)}
	groups = append(groups, w)

	// Updates and deletes skipped at the source (the publication then
	// publishes inserts only), so primary-key changes make no record.
	w = &diffGroup{name: "w09", about: "skipped.operations=u,d (publication publishes inserts and truncates only), primary-key changes not emitted",
		conf: merged(strConvs(), map[string]string{"skipped.operations": "u,d"})}
	w.tables = []*diffTable{{name: "w09_t", cols: outbox("jsonb", false), rows: 150, updCol: "type", updates: 0.3, pkUpdates: 0.4, deletes: 0.2}}
	groups = append(groups, w)

	// A router key Debezium 3.6 does not know (it arrives in 3.7): empty
	// arrays in an expanded payload are still dropped.
	w = &diffGroup{name: "w10", about: "table.json.payload.empty.array.behavior=optional_string (a 3.7 key) with expand.json.payload",
		conf: merged(conv("json"), map[string]string{
			"extended.headers.enabled":                                  "false",
			"transforms.outbox.table.expand.json.payload":               "true",
			"transforms.outbox.table.json.payload.empty.array.behavior": "optional_string",
		})}
	w.tables = []*diffTable{std("w10_t", outbox("jsonb", true), 150)}
	groups = append(groups, w)

	// Logical decoding messages (pg_logical_emit_message), transactional
	// and not, some with a prefix the connector excludes.
	w = &diffGroup{name: "w11", about: "logical decoding messages (<topic.prefix>.message), message.prefix.exclude.list, JsonConverter schemas on",
		sidePrefix: true,
		conf: merged(conv("json_schemas"), map[string]string{
			"extended.headers.enabled":    "false",
			"message.prefix.exclude.list": "heartbeat,skip\\..*",
		})}
	w.tables = []*diffTable{{name: "w11_t", cols: outbox("jsonb", false), rows: 120, updCol: "type", updates: 0.1, pkUpdates: 0.1, deletes: 0.1, messages: 0.5}}
	groups = append(groups, w)

	// A lazy topic regex: the full match decides, the leftmost (shortest)
	// match is replaced and the rest of the value kept.
	w = &diffGroup{name: "w12", about: "route.topic.regex matched in full but replaced leftmost-first ($2 and ${name}), unmatched values",
		conf: merged(strConvs(), map[string]string{
			"transforms.outbox.route.topic.regex":       `(?<routedByValue>[a-z]+?)(\d*)`,
			"transforms.outbox.route.topic.replacement": "${routedByValue}.v$2",
		}),
		routeVals: []string{"order", "item42", "x1", "w12-raw"}}
	w.tables = []*diffTable{std("w12_t", outbox("jsonb", false), 120)}
	groups = append(groups, w)

	// The initial snapshot reads every type (by query, not from the WAL).
	w = &diffGroup{name: "w13", about: "snapshot.mode=initial over every type, JsonConverter headers and envelope with schemas",
		snapshot: true,
		conf: merged(conv("json_schemas"), map[string]string{
			"header.converter":                                    "org.apache.kafka.connect.json.JsonConverter",
			"header.converter.schemas.enable":                     "true",
			"extended.headers.enabled":                            "false",
			"transforms.outbox.table.fields.additional.placement": placements(pcJSON, "header") + "," + placements(pcJSON, "envelope"),
		})}
	w.tables = []*diffTable{{name: "w13_t", cols: append(outbox("jsonb", false), pcJSON...), rows: 250, preRows: 200, updCol: "type", updates: 0.1, pkUpdates: 0.1, deletes: 0.1}}
	groups = append(groups, w)

	// Writes that must fail both tasks.
	small := func(name string) *diffTable {
		return &diffTable{name: name, cols: outbox("jsonb", false), rows: 15, updCol: "type"}
	}
	strConv := strConvs()
	groups = append(groups,
		&diffGroup{name: "x01", about: "table.op.invalid.behavior=fatal and an update", failure: "IllegalStateException: Unexpected update message",
			conf:    merged(strConv, map[string]string{"transforms.outbox.table.op.invalid.behavior": "fatal"}),
			tables:  []*diffTable{small("x01_t")},
			failSQL: []string{`UPDATE x01_t SET type = 'Updated' WHERE id = (SELECT id FROM x01_t LIMIT 1)`}},
		&diffGroup{name: "x02", about: "skipped.operations=none and a TRUNCATE", failure: "DataException: Only Struct objects supported",
			conf:    merged(strConv, map[string]string{"skipped.operations": "none"}),
			tables:  []*diffTable{small("x02_t")},
			failSQL: []string{`TRUNCATE x02_t`}},
		&diffGroup{name: "x03", about: "an additional placement of a missing column (table.field.additional.missing=error)", failure: "DataException: tenant is not a valid field name",
			conf:    merged(strConv, map[string]string{"transforms.outbox.table.fields.additional.placement": "tenant:header"}),
			tables:  []*diffTable{{name: "x03_t", cols: outbox("jsonb", false)}},
			failSQL: []string{`INSERT INTO x03_t (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', '1', 't', '{}')`}},
		&diffGroup{name: "x05", about: "the pre-3.6 key table.fields.additional.error.on.missing=false, which 3.6 ignores, and a missing column", failure: "DataException: tenant is not a valid field name",
			conf: merged(strConv, map[string]string{
				"transforms.outbox.table.fields.additional.placement":        "tenant:header",
				"transforms.outbox.table.fields.additional.error.on.missing": "false",
			}),
			tables:  []*diffTable{{name: "x05_t", cols: outbox("jsonb", false)}},
			failSQL: []string{`INSERT INTO x05_t (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', '1', 't', '{}')`}},
		&diffGroup{name: "x04", about: "a negative partition placement", failure: "IllegalArgumentException: Invalid partition",
			conf: merged(strConv, map[string]string{"transforms.outbox.table.fields.additional.placement": "part:partition"}),
			tables: []*diffTable{{name: "x04_t", rows: 15, updCol: "type", cols: append(outbox("jsonb", false),
				diffCol{name: "part", typ: "integer", gen: oneOf("0", "1", "2")})}},
			failSQL: []string{`INSERT INTO x04_t (id, aggregatetype, aggregateid, type, payload, part) VALUES (gen_random_uuid(), 'order', '1', 't', '{}', -1)`}},
	)
	return groups
}
