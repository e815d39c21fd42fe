package eventrouter

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRouteTopicRegexEdgeCases(t *testing.T) {
	tests := []struct {
		name, regex, replacement, value, want string
	}{
		{"default", "", "", "order", "outbox.event.order"},
		{"lazy group keeps the tail", "(?<routedByValue>[a-z]+?)", "${routedByValue}.events", "order", "o.eventsrder"},
		{"leftmost alternative", "(a|ab)", "$1.events", "ab", "a.eventsb"},
		{"no full match keeps the raw value", "(?<routedByValue>order|invoice)", "domain.${routedByValue}.v1", "payment", "payment"},
		{"partial match is no match", "order", "x", "orders", "orders"},
		{"group numbers", "(.+)_(.+)", "$2.$1", "order_v2", "v2.order"},
		{"escaped dollar", "(?<routedByValue>.*)", `\$${routedByValue}`, "order", "$order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]string{}
			if tc.regex != "" {
				extra[rk("route.topic.regex")] = tc.regex
				extra[rk("route.topic.replacement")] = tc.replacement
			}
			r := newTestRouter(t, extra)
			rec, err := r.Route(insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, tc.value)))), testNow)
			if tc.want == "$order" {
				// '$' is not a legal topic character: the producer would reject the record.
				if err == nil || !strings.Contains(err.Error(), "InvalidTopicException") {
					t.Fatalf("want an InvalidTopicException, got %v, %v", rec, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Topic != tc.want {
				t.Errorf("topic = %q, want %q", rec.Topic, tc.want)
			}
		})
	}
}

// TestRouteTopicCache routes more distinct values than the topic cache holds, each twice, with a failing value in
// between: cached or not, every record lands on the topic the regex gives, and failures are never cached.
func TestRouteTopicCache(t *testing.T) {
	r := newTestRouter(t, map[string]string{
		rk("route.topic.regex"):       "(?<routedByValue>[a-z]+)_(?<n>[0-9]+)",
		rk("route.topic.replacement"): "${routedByValue}.v${n}",
	})
	for round := range 2 {
		for i := range topicCacheSize + 100 {
			value := fmt.Sprintf("agg_%d", i)
			rec := mustRoute(t, r, insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, value)))))
			if want := fmt.Sprintf("agg.v%d", i); rec.Topic != want {
				t.Fatalf("round %d: topic for %q = %q, want %q", round, value, rec.Topic, want)
			}
			if i%500 == 0 {
				routeErr(t, r, insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, "not a topic")))), "InvalidTopicException")
			}
		}
	}
	if n := len(r.topics); n > topicCacheSize {
		t.Fatalf("topic cache holds %d values, more than %d", n, topicCacheSize)
	}
}

func TestRouteTopicErrors(t *testing.T) {
	r := newTestRouter(t, nil)
	routeErr(t, r, insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, "my topic")))), "InvalidTopicException")
	routeErr(t, r, insert(outboxRow(col("aggregatetype", OIDInt4, "7"))), "DataException: Field 'aggregatetype' is not of type STRING")
	cols := outboxRow()
	routeErr(t, r, insert(cols[1:]), "DataException: id is not a valid field name")
	noRoute := append([]Column{cols[0]}, cols[2:]...)
	routeErr(t, r, insert(noRoute), "DataException: aggregatetype is not a valid field name")
	routeErr(t, r, insert(cols[:4]), "ConnectException: Unable to find payload field payload in event")
	routeErr(t, r, insert([]Column{cols[0], cols[1], cols[3], cols[4]}), "DataException: aggregateid is not a valid field name")
	// A trailing newline with a '$' anchor cannot be decided like Java: fail rather than guess.
	r2 := newTestRouter(t, map[string]string{rk("route.topic.regex"): "(?<routedByValue>.*)$"})
	routeErr(t, r2, insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, "order\n")))), "javaregex")
}

func TestContextHeadersAndPrimaryKeyChange(t *testing.T) {
	r := newTestRouter(t, map[string]string{"extended.headers.enabled": "", rk("table.fields.additional.placement"): "type:header:eventType"})
	newID := "00000000-0000-4000-8000-000000000002"
	after := outboxRow(Column{Name: "id", TypeOID: OIDUUID, TypeMod: -1, NotNull: true, Key: true, Value: []byte(newID)})
	old := []Column{{Name: "id", TypeOID: OIDUUID, TypeMod: -1, NotNull: true, Key: true, Value: []byte(testID)}}
	rec := mustRoute(t, r, Change{Op: OpUpdate, Schema: "public", Table: "outbox", After: after, OldKey: old})
	want := `[__debezium.oldkey={"id":"` + testID + `"}, __debezium.context.connectorLogicalName=app, __debezium.context.taskId=0, ` +
		`__debezium.context.connectorName=postgresql, __debezium.context.runId=` + r.RunID() + `, id=` + newID + `, eventType=OrderCreated]`
	if got := headerMap(t, rec); got != want {
		t.Errorf("headers\n got %s\nwant %s", got, want)
	}
	if rec.Topic != "outbox.event.order" || string(rec.Value) != testPayload {
		t.Errorf("record %+v", rec)
	}
	// A new router is a new task start: a new run id.
	if r2 := newTestRouter(t, nil); r2.RunID() == r.RunID() {
		t.Errorf("run id reused")
	}
}

func TestUpdatesDeletesTruncates(t *testing.T) {
	upd := Change{Op: OpUpdate, Schema: "public", Table: "outbox", After: outboxRow()}
	for _, behaviour := range []string{"warn", "error"} {
		logs, log := captureLogs()
		r := newLoggingTestRouter(t, map[string]string{rk("table.op.invalid.behavior"): behaviour}, log)
		rec, err := r.Route(upd, testNow)
		if rec != nil || err != nil {
			t.Fatalf("%s: Route = %v, %v; want dropped", behaviour, rec, err)
		}
		if want := "Unexpected update message received Struct{id=" + testID + "} and ignored"; !strings.Contains(logs.String(), want) {
			t.Errorf("%s: log %q lacks %q", behaviour, logs, want)
		}
		if !strings.Contains(logs.String(), "level="+strings.ToUpper(behaviour)) {
			t.Errorf("%s: log level: %q", behaviour, logs)
		}
	}
	r := newTestRouter(t, map[string]string{rk("table.op.invalid.behavior"): "fatal"})
	routeErr(t, r, upd, "java.lang.IllegalStateException: Unexpected update message received Struct{id="+testID+"}, fail.")

	for _, ch := range []Change{{Op: OpDelete, Schema: "public", Table: "outbox"}, {Op: OpTruncate, Schema: "public", Table: "outbox"}} {
		if rec, err := r.Route(ch, testNow); rec != nil || err != nil {
			t.Errorf("op %c: Route = %v, %v; want dropped", ch.Op, rec, err)
		}
	}
	// With skipped.operations not skipping truncates, the truncate reaches the router and fails it.
	rt := newTestRouter(t, map[string]string{"skipped.operations": "none"})
	routeErr(t, rt, Change{Op: OpTruncate, Schema: "public", Table: "outbox"}, "Only Struct objects supported for [Read Outbox Event], found: null")
}

func TestEmptyPayloads(t *testing.T) {
	tests := []struct {
		name      string
		payload   Column
		tombstone bool
		value     *string
	}{
		{"whitespace text, flag on", col("payload", OIDText, " \t\r\n\x00"), true, nil},
		{"whitespace text, flag off", col("payload", OIDText, " \t"), false, ptr(" \t")},
		{"no-break space is not empty for Java's trim", col("payload", OIDText, "\u00a0"), true, ptr("\u00a0")},
		{"null, flag on", nullCol("payload", OIDJSONB), true, nil},
		{"empty bytea is never empty", col("payload", OIDBytea, `\x`), true, ptr("java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRouter(t, map[string]string{rk("route.tombstone.on.empty.payload"): boolText(tc.tombstone),
				rk("table.fields.additional.placement"): "type:envelope"})
			rec := mustRoute(t, r, insert(outboxRow(tc.payload)))
			if tc.value == nil {
				if rec.Value != nil {
					t.Errorf("value = %q, want a tombstone", rec.Value)
				}
				if string(rec.Key) != "42" || len(rec.Headers) != 1 {
					t.Errorf("a tombstone keeps key and headers: %+v", rec)
				}
				return
			}
			want := "Struct{payload=" + *tc.value + ",type=OrderCreated}"
			if string(rec.Value) != want {
				t.Errorf("value = %q, want %q", rec.Value, want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestPartitionPlacement(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "shard:partition"})
	if rec := mustRoute(t, r, insert(outboxRow(col("shard", OIDInt4, "2")))); rec.Partition != 2 {
		t.Errorf("partition = %d, want 2", rec.Partition)
	}
	if rec := mustRoute(t, r, insert(outboxRow(nullCol("shard", OIDInt4)))); rec.Partition != -1 {
		t.Errorf("NULL partition = %d, want -1 (key hashing)", rec.Partition)
	}
	routeErr(t, r, insert(outboxRow(col("shard", OIDInt4, "-1"))), "java.lang.IllegalArgumentException: Invalid partition: -1.")
	routeErr(t, r, insert(outboxRow(col("shard", OIDInt8, "2"))), "Field 'shard' is not of type INT32")
	routeErr(t, r, insert(outboxRow(col("shard", OIDInt2, "2"))), "Field 'shard' is not of type INT32")
	routeErr(t, r, insert(outboxRow()), "shard is not a valid field name")
	ri := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "shard:partition", rk("table.field.additional.missing"): "ignore"})
	if rec := mustRoute(t, ri, insert(outboxRow())); rec.Partition != -1 {
		t.Errorf("ignored missing partition column: %d", rec.Partition)
	}
	// Debezium 3.6 no longer reads the pre-3.6 boolean: the column is still required.
	ro := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "shard:partition", rk("table.fields.additional.error.on.missing"): "false"})
	routeErr(t, ro, insert(outboxRow()), "shard is not a valid field name")
}

func TestHeaderValuesByColumnType(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "i:header,b:header,n:header,v:header,y:header,j:header,z:header,ts:header,tz:header,f:header,d:header,s:header,dt:header"})
	rec := mustRoute(t, r, insert(outboxRow(
		col("i", OIDInt4, "-7"), col("b", OIDBool, "t"), Column{Name: "n", TypeOID: OIDNumeric, TypeMod: 10<<16 | 2 + 4, Value: []byte("19.90")}, col("v", OIDNumeric, "1.500"),
		col("y", OIDBytea, `\x7b2261223a317d`), col("j", OIDJSON, ` {"a": "\"x\""} `), nullCol("z", OIDText),
		Column{Name: "ts", TypeOID: OIDTimestamp, TypeMod: 3, Value: []byte("2019-03-24 20:52:59.123")},
		col("tz", OIDTimestamptz, "2019-03-24 22:52:59.5+02"), col("f", OIDFloat8, "1e+23"), col("d", OIDDate, "1970-01-02"),
		col("s", OIDInt2, "12"), col("dt", OIDTimestamp, "1969-12-31 23:59:59.999999"),
	)))
	rec.Headers = rec.Headers[1:] // id
	got := headerMap(t, rec)
	wantParts := []string{"i=-7", "b=true", "n=19.90", `v={"scale":1,"value":"Dw=="}`, "y=eyJhIjoxfQ==", `j= {"a": "\"x\""} `, "z=<null>",
		"ts=1553460779123", "tz=2019-03-24T20:52:59.500000Z", "f=1.0E23", "d=1", "s=12", "dt=-1"}
	if got != "["+strings.Join(wantParts, ", ")+"]" {
		t.Errorf("headers\n got %s\nwant %s", got, "["+strings.Join(wantParts, ", ")+"]")
	}
}

func TestNumericColumns(t *testing.T) {
	r := newTestRouter(t, map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "true"})
	numeric := Column{Name: "payload", TypeOID: OIDNumeric, TypeMod: 10<<16 | 2 + 4, Value: []byte("19.99")}
	rec := mustRoute(t, r, insert(outboxRow(numeric)))
	want := `{"schema":{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"}},"payload":"B88="}`
	if string(rec.Value) != want {
		t.Errorf("value\n got %s\nwant %s", rec.Value, want)
	}
	rn := newTestRouter(t, map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "false", "value.converter.decimal.format": "NUMERIC"})
	if rec := mustRoute(t, rn, insert(outboxRow(Column{Name: "payload", TypeOID: OIDNumeric, TypeMod: 10<<16 | 8 + 4, Value: []byte("0.00000010")}))); string(rec.Value) != "1.0E-7" {
		t.Errorf("NUMERIC decimal = %s", rec.Value)
	}
	// Unconstrained numeric: VariableScaleDecimal.
	rv := newTestRouter(t, map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "false"})
	if rec := mustRoute(t, rv, insert(outboxRow(col("payload", OIDNumeric, "-100.000")))); string(rec.Value) != `{"scale":0,"value":"nA=="}` {
		t.Errorf("VariableScaleDecimal = %s", rec.Value)
	}
	// NaN in any column fails in the connector, even when the router never reads it.
	routeErr(t, r, insert(outboxRow(col("amount", OIDNumeric, "NaN"))), "Got a special value (NaN/Infinity) for Decimal type in column amount")
}

func TestTimestampColumn(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.field.event.timestamp"): "created_at"})
	ts := func(typmod int32, text string) Change {
		return insert(outboxRow(Column{Name: "created_at", TypeOID: OIDTimestamp, TypeMod: typmod, Value: []byte(text)}))
	}
	for _, tc := range []struct {
		typmod int32
		text   string
		want   int64
	}{
		{-1, "2019-03-24 20:52:59", 1553460779000},
		{-1, "2019-03-24 20:52:59.123456", 1553460779123},
		{3, "2019-03-24 20:52:59.123", 1553460779123},
		{0, "2019-03-24 20:53:00", 1553460780000},
		{6, "1970-01-01 00:00:00.000999", 0},
		{-1, "1969-12-31 23:59:59.9995", 0},                 // micros/1000 truncates toward zero
		{3, "1969-12-31 23:59:59.999", testNow.UnixMilli()}, // -1 is "no timestamp": the producer's time
		{-1, "infinity", 9223372036825200},
	} {
		rec := mustRoute(t, r, ts(tc.typmod, tc.text))
		if got := rec.Timestamp.UnixMilli(); got != tc.want {
			t.Errorf("timestamp(%d) %q -> %d, want %d", tc.typmod, tc.text, got, tc.want)
		}
	}
	routeErr(t, r, ts(3, "1969-12-31 23:59:59.998"), "org.apache.kafka.common.InvalidRecordException: Invalid record timestamp -2")
	routeErr(t, r, insert(outboxRow(col("created_at", OIDInt8, "5"))), "ConnectException: Unsupported field type INT64 (without logical schema name) for event timestamp")
	routeErr(t, r, insert(outboxRow(col("created_at", OIDDate, "2019-03-24"))), "DataException: Field 'created_at' is not of type INT64")
	routeErr(t, r, insert(outboxRow()), "ConnectException: Unable to find timestamp field created_at in event")
	if rec := mustRoute(t, r, insert(outboxRow(nullCol("created_at", OIDTimestamp)))); !rec.Timestamp.Equal(time.UnixMilli(testNow.UnixMilli())) {
		t.Errorf("NULL timestamp -> %v", rec.Timestamp)
	}
}

func TestKeyConverters(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]string
		key   Column
		want  *string
	}{
		{"json schemas, nullable key", map[string]string{"key.converter": jsonConv}, col("aggregateid", OIDVarchar, "42"),
			ptr(`{"schema":{"type":"string","optional":true},"payload":"42"}`)},
		{"json schemas, null key", map[string]string{"key.converter": jsonConv}, nullCol("aggregateid", OIDVarchar),
			ptr(`{"schema":{"type":"string","optional":true},"payload":null}`)},
		{"json schemas, int8 key", map[string]string{"key.converter": jsonConv}, notNull(col("aggregateid", OIDInt8, "42")),
			ptr(`{"schema":{"type":"int64","optional":false},"payload":42}`)},
		{"json schemas, uuid key", map[string]string{"key.converter": jsonConv}, notNull(col("aggregateid", OIDUUID, testID)),
			ptr(`{"schema":{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1},"payload":"` + testID + `"}`)},
		{"string, bytea key", nil, col("aggregateid", OIDBytea, `\x0102`), ptr("java.nio.HeapByteBuffer[pos=0 lim=2 cap=2]")},
		{"bytearray, bytea key", map[string]string{"key.converter": bytesConv}, col("aggregateid", OIDBytea, `\x3432`), ptr("42")},
		{"string, int key", nil, col("aggregateid", OIDInt4, "-5"), ptr("-5")},
		{"json, unicode key", map[string]string{"key.converter": jsonConv, "key.converter.schemas.enable": "false"},
			col("aggregateid", OIDText, "a\u2028</b>\x01😀"), ptr(`"a` + "\u2028" + `</b>\u0001\uD83D\uDE00"`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRouter(t, tc.extra)
			rec := mustRoute(t, r, insert(outboxRow(tc.key)))
			checkBytes(t, "key", rec.Key, tc.want, "")
		})
	}
	r := newTestRouter(t, map[string]string{"key.converter": bytesConv})
	routeErr(t, r, insert(outboxRow()), "DataException: Invalid schema type for ByteArrayConverter: STRING")
}

func TestByteaPayloadWithJsonConverter(t *testing.T) {
	r := newTestRouter(t, map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "false"})
	rec := mustRoute(t, r, insert(outboxRow(col("payload", OIDBytea, `\x7b2261223a317d`))))
	if string(rec.Value) != `"eyJhIjoxfQ=="` {
		t.Errorf("value = %s", rec.Value)
	}
	rs := newTestRouter(t, map[string]string{"value.converter": jsonConv})
	rec = mustRoute(t, rs, insert(outboxRow(col("payload", OIDBytea, `\x7b2261223a317d`))))
	if string(rec.Value) != `{"schema":{"type":"bytes","optional":true},"payload":"eyJhIjoxfQ=="}` {
		t.Errorf("value = %s", rec.Value)
	}
	if _, err := base64.StdEncoding.DecodeString("eyJhIjoxfQ=="); err != nil {
		t.Fatal(err)
	}
}

func TestEnvelopeWithSchemas(t *testing.T) {
	r := newTestRouter(t, map[string]string{
		"value.converter":                       jsonConv,
		rk("table.fields.additional.placement"): "type:envelope:eventType,aggregateid:envelope",
	})
	rec := mustRoute(t, r, insert(outboxRow()))
	want := `{"schema":{"type":"struct","fields":[` +
		`{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"payload"},` +
		`{"type":"string","optional":false,"field":"eventType"},` +
		`{"type":"string","optional":false,"field":"aggregateid"}],` +
		`"optional":false,"name":"app.public.outbox.order.Value"},` +
		`"payload":{"payload":"{\"total\": 19.99, \"orderId\": 42}","eventType":"OrderCreated","aggregateid":"42"}}`
	if string(rec.Value) != want {
		t.Errorf("value\n got %s\nwant %s", rec.Value, want)
	}
	// The SMT caches the value schema per payload schema: its name keeps the first routed value.
	rec = mustRoute(t, r, insert(outboxRow(notNull(col("aggregatetype", OIDVarchar, "invoice")))))
	if !strings.Contains(string(rec.Value), `"name":"app.public.outbox.order.Value"`) || rec.Topic != "outbox.event.invoice" {
		t.Errorf("cached schema name: topic %s value %s", rec.Topic, rec.Value)
	}
	// A table name with characters Kafka does not allow is sanitized like Debezium's topic names.
	rec2 := mustRoute(t, newTestRouter(t, map[string]string{"value.converter": jsonConv, rk("table.fields.additional.placement"): "type:envelope"}),
		Change{Op: OpRead, Schema: "public", Table: "out box", After: outboxRow()})
	if !strings.Contains(string(rec2.Value), `"name":"app.public.out_box.order.Value"`) {
		t.Errorf("sanitized name: %s", rec2.Value)
	}
}

func TestEnvelopeMissingColumns(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "tenant:envelope"})
	routeErr(t, r, insert(outboxRow()), "ConnectException: Unable to find field tenant in event")
	rh := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "tenant:header"})
	routeErr(t, rh, insert(outboxRow()), "DataException: tenant is not a valid field name")

	ri := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "tenant:envelope", rk("table.field.additional.missing"): "ignore"})
	if rec := mustRoute(t, ri, insert(outboxRow())); string(rec.Value) != "Struct{payload="+testPayload+"}" {
		t.Errorf("value = %s", rec.Value)
	}
	// The schema cached without the column makes a later row that has it fail, as in Debezium.
	routeErr(t, ri, insert(outboxRow(col("tenant", OIDText, "t1"))), "DataException: tenant is not a valid field name")
}

func TestSchemaVersion(t *testing.T) {
	r := newTestRouter(t, map[string]string{
		"value.converter":                       jsonConv,
		rk("table.fields.additional.placement"): "type:envelope",
		rk("table.field.event.schema.version"):  "version",
		rk("table.expand.json.payload"):         "true",
	})
	rec := mustRoute(t, r, insert(outboxRow(col("version", OIDInt4, "3"))))
	if !strings.Contains(string(rec.Value), `"optional":false,"name":"app.public.outbox.order.Value","version":3},"payload":{"payload":{"total":19.99,"orderId":42}`) {
		t.Errorf("value %s", rec.Value)
	}
	// Same version, different payload shape: the cached schema no longer fits.
	routeErr(t, r, insert(outboxRow(col("version", OIDInt4, "3"), col("payload", OIDJSONB, `{"other": 1}`))), "DataException: Struct schemas do not match.")
	// Without envelope placements the version column is not read at all.
	r2 := newTestRouter(t, map[string]string{rk("table.field.event.schema.version"): "version"})
	mustRoute(t, r2, insert(outboxRow()))
	routeErr(t, r, insert(outboxRow(col("version", OIDInt8, "3"))), "Field 'version' is not of type INT32")
}

func TestUnsupportedColumnTypes(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.fields.additional.placement"): "geo:header"})
	routeErr(t, r, insert(outboxRow(Column{Name: "geo", TypeOID: 600, TypeMod: -1, Value: []byte("(1,2)")})), "type oid 600")
	// An unread column of an unknown type is fine.
	mustRoute(t, newTestRouter(t, nil), insert(outboxRow(Column{Name: "geo", TypeOID: 600, TypeMod: -1, Value: []byte("(1,2)")})))
}

func TestHeartbeatAndMessages(t *testing.T) {
	r := newTestRouter(t, map[string]string{"key.converter": jsonConv, "value.converter": jsonConv, "topic.heartbeat.prefix": "hb",
		"database.dbname": "shop", "message.prefix.exclude.list": "heart.*"})
	hb, err := r.Heartbeat(testNow)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"serverName"}],"optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"payload":{"serverName":"app"}}`
	wantValue := `{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"payload":{"ts_ms":1700000000123}}`
	if hb.Topic != "hb.app" || hb.Partition != 0 || string(hb.Key) != wantKey || string(hb.Value) != wantValue || len(hb.Headers) != 0 {
		t.Errorf("heartbeat %s / %s / %s", hb.Topic, hb.Key, hb.Value)
	}

	if rec, err := r.Message(LogicalMessage{Prefix: "HeartBeat", Content: []byte("x")}, testNow); rec != nil || err != nil {
		t.Errorf("excluded prefix (case-insensitive): %v %v", rec, err)
	}
	rs := newTestRouter(t, map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "false", "database.dbname": "shop",
		"message.prefix.include.list": "audit"})
	commit := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	rec, err := rs.Message(LogicalMessage{Transactional: true, LSN: 1000, Prefix: "audit", Content: []byte("hi"), CommitTime: commit, TxID: 771, LastCommitLSN: 900}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	wantMsg := `{"op":"m","ts_ms":1700000000123,"source":{"version":"` + DebeziumVersion + `","connector":"postgresql","name":"app",` +
		`"ts_ms":1795428000123,"snapshot":"false","db":"shop","sequence":"[\"900\",\"1000\"]","ts_us":1795428000123456,` +
		`"ts_ns":1795428000123456000,"schema":"","table":"","txId":771,"lsn":1000,"xmin":null,"origin":null,"origin_lsn":null},` +
		`"transaction":null,"message":{"prefix":"audit","content":"aGk="}}`
	if rec.Topic != "app.message" || rec.Partition != -1 || string(rec.Key) != "Struct{prefix=audit}" || string(rec.Value) != wantMsg {
		t.Errorf("message %s %d %s\n got %s\nwant %s", rec.Topic, rec.Partition, rec.Key, rec.Value, wantMsg)
	}
	if rec, _ := rs.Message(LogicalMessage{Prefix: "other"}, testNow); rec != nil {
		t.Errorf("prefix outside the include list was emitted")
	}
	// Non-transactional: sequence repeats the message LSN, txId is null; StringConverter prints Struct.toString
	// (the null snapshot field is omitted there).
	rstr := newTestRouter(t, map[string]string{"database.dbname": "shop"})
	rec, err = rstr.Message(LogicalMessage{LSN: 5, Prefix: "p", Content: []byte("c")}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := `Struct{op=m,ts_ms=1700000000123,source=Struct{version=` + DebeziumVersion + `,connector=postgresql,name=app,ts_ms=1700000000123,db=shop,` +
		`sequence=["5","5"],ts_us=1700000000123000,ts_ns=1700000000123000000,schema=,table=,lsn=5},message=Struct{prefix=p,content=java.nio.HeapByteBuffer[pos=0 lim=1 cap=1]}}`
	if string(rec.Value) != want {
		t.Errorf("message value\n got %s\nwant %s", rec.Value, want)
	}
	// ByteArrayConverter cannot write the message struct.
	rb := newTestRouter(t, map[string]string{"value.converter": bytesConv})
	if _, err := rb.Message(LogicalMessage{Prefix: "p"}, testNow); err == nil || !strings.Contains(err.Error(), "Invalid schema type for ByteArrayConverter: STRUCT") {
		t.Errorf("bytearray message: %v", err)
	}
}
