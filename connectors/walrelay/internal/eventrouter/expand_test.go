package eventrouter

import (
	"strings"
	"testing"
)

func TestJSONExpansion(t *testing.T) {
	jsonNoSchemas := map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "false"}
	tests := []struct {
		name    string
		extra   map[string]string
		payload Column
		want    string // value bytes; "ERR:<fragment>" for a task failure
	}{
		{"numbers", nil, col("payload", OIDJSONB, `{"i": 1, "l": 3000000000, "d": 1e23, "f": 12345678.5, "s": 0.0001, "t": 10.0, "m": -0.0, "z": -0}`),
			`{"i":1,"l":3000000000,"d":1.0E23,"f":1.23456785E7,"s":1.0E-4,"t":10.0,"m":-0.0,"z":0}`},
		{"exponent in a text column", nil, col("payload", OIDText, `{"a":1e3}`), `{"a":1000.0}`},
		{"string escaping", nil, col("payload", OIDJSONB, `{"s": "\u0001\u001f/<>&'\u2028😀\"\\"}`),
			`{"s":"\u0001\u001F/<>&'` + "\u2028" + `\uD83D\uDE00\"\\"}`},
		{"nested nulls dropped, empty object kept", nil, col("payload", OIDJSONB, `{"a": {"x": null}, "b": [], "c": {}}`), `{"a":{},"c":{}}`},
		{"empty array dropped: Debezium 3.6 has no table.json.payload.empty.array.behavior", map[string]string{rk("table.json.payload.empty.array.behavior"): "optional_string"},
			col("payload", OIDJSONB, `{"b": [], "c": 1}`), `{"c":1}`},
		{"array with nulls", nil, col("payload", OIDJSONB, `{"a": [1, null, 2]}`), `{"a":[1,null,2]}`},
		{"array of objects merged in order of first appearance", nil,
			col("payload", OIDJSONB, `{"items": [{"sku": "a", "qty": 1}, {"sku": "b", "note": "x"}]}`),
			`{"items":[{"sku":"a","qty":1,"note":null},{"sku":"b","qty":null,"note":"x"}]}`},
		{"array of arrays", nil, col("payload", OIDJSONB, `{"m": [[1, 2], [3]]}`), `{"m":[[1,2],[3]]}`},
		{"mixed array keeps the string", nil, col("payload", OIDJSONB, `{"a": [1, "x"]}`), `"{\"a\": [1, \"x\"]}"`},
		{"int and long in one array keeps the string", nil, col("payload", OIDJSONB, `{"a": [1, 3000000000]}`), `"{\"a\": [1, 3000000000]}"`},
		{"all-null array keeps the string", nil, col("payload", OIDJSONB, `{"a": [null]}`), `"{\"a\": [null]}"`},
		{"all-null array with optional_bytes", map[string]string{rk("table.json.payload.null.behavior"): "optional_bytes"},
			col("payload", OIDJSONB, `{"a": [null]}`), `{"a":[null]}`},
		{"integer beyond int64 breaks JsonConverter", nil, col("payload", OIDJSONB, `{"a": 9223372036854775808}`), "ERR:Invalid type for STRUCT: class java.lang.String"},
		{"parse error keeps the string", nil, col("payload", OIDText, `{"a": 01}`), `"{\"a\": 01}"`},
		{"trailing content ignored", nil, col("payload", OIDText, `{"a":1} junk`), `{"a":1}`},
		{"top-level empty array keeps the string without schema", nil, col("payload", OIDJSONB, `[]`), `"[]"`},
		{"top-level array breaks JsonConverter", nil, col("payload", OIDJSONB, `[{"a": 1}]`), "ERR:Invalid type for ARRAY: class java.lang.String"},
		{"empty field name keeps the string", nil, col("payload", OIDJSONB, `{"": 1}`), `"{\"\": 1}"`},
		{"bytea is not expanded", nil, col("payload", OIDBytea, `\x7b7d`), `"e30="`},
		{"null payload", nil, nullCol("payload", OIDJSONB), `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]string{rk("table.expand.json.payload"): "true"}
			for k, v := range jsonNoSchemas {
				extra[k] = v
			}
			for k, v := range tc.extra {
				extra[k] = v
			}
			r := newTestRouter(t, extra)
			ch := insert(outboxRow(tc.payload))
			if frag, ok := strings.CutPrefix(tc.want, "ERR:"); ok {
				routeErr(t, r, ch, frag)
				return
			}
			rec := mustRoute(t, r, ch)
			if string(rec.Value) != tc.want {
				t.Errorf("value\n got %s\nwant %s", rec.Value, tc.want)
			}
		})
	}
}

func TestJSONExpansionWithSchemas(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.expand.json.payload"): "true", "value.converter": jsonConv})
	rec := mustRoute(t, r, insert(outboxRow(col("payload", OIDJSONB, `{"a": {"b": true}, "l": ["x"], "items": [{"q": 1}, {"r": 2.5}]}`))))
	want := `{"schema":{"type":"struct","fields":[` +
		`{"type":"struct","fields":[{"type":"boolean","optional":true,"field":"b"}],"optional":true,"name":"payload.a","field":"a"},` +
		`{"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"l"},` +
		`{"type":"array","items":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"q"},{"type":"double","optional":true,"field":"r"}],"optional":false,"name":"payload.items"},"optional":true,"field":"items"}],` +
		`"optional":true,"name":"payload"},` +
		`"payload":{"a":{"b":true},"l":["x"],"items":[{"q":1,"r":null},{"q":null,"r":2.5}]}}`
	if string(rec.Value) != want {
		t.Errorf("value\n got %s\nwant %s", rec.Value, want)
	}
}

func TestJSONExpansionStringConverter(t *testing.T) {
	r := newTestRouter(t, map[string]string{rk("table.expand.json.payload"): "true"})
	for payload, want := range map[string]string{
		`{"a": [1, 2], "b": {"c": "x"}, "d": null, "e": 1.5E10}`: "Struct{a=[1, 2],b=Struct{c=x},e=1.5E10}",
		`[1, 2]`:                        "[1, 2]", // the SMT keeps the string; StringConverter prints it
		`{"a": 9223372036854775808}`:    `{"a": 9223372036854775808}`,
		`{"n": {"m": null}, "o": true}`: "Struct{n=Struct{},o=true}",
	} {
		rec := mustRoute(t, r, insert(outboxRow(col("payload", OIDJSONB, payload))))
		if string(rec.Value) != want {
			t.Errorf("%s -> %s, want %s", payload, rec.Value, want)
		}
	}
	// With an envelope placement a top-level [] reaches the SMT's schema cache with a null schema.
	re := newTestRouter(t, map[string]string{rk("table.expand.json.payload"): "true", rk("table.fields.additional.placement"): "type:envelope"})
	routeErr(t, re, insert(outboxRow(col("payload", OIDJSONB, `[]`))), "NullPointerException")
	// ... and a string kept next to an inferred struct schema fails the SMT itself.
	routeErr(t, re, insert(outboxRow(col("payload", OIDJSONB, `{"b": 9223372036854775808}`))), `Invalid Java object for schema "payload" with type STRUCT: class java.lang.String for field: "payload"`)
}
