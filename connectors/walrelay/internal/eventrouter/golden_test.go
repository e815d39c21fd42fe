package eventrouter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goldenCase is one entry of testdata/debezium-golden.json (format: section 7 of the Debezium outbox contract).
type goldenCase struct {
	Name   string `json:"name"`
	Config struct {
		Router     map[string]string `json:"router"`
		Converters goldenConverters  `json:"converters"`
		Connector  map[string]string `json:"connector"`
	} `json:"config"`
	Columns orderedColumns     `json:"columns"`
	Row     map[string]*string `json:"row"`
	Op      string             `json:"op"`
	Expect  goldenExpect       `json:"expect"`
	// Variants re-run the case with other converters; only key and value may differ.
	Variants []struct {
		Converters goldenConverters `json:"converters"`
		Key        json.RawMessage  `json:"key"`
		Value      json.RawMessage  `json:"value"`
	} `json:"variants"`
}

type goldenConverters struct {
	Key, Value, Header string
}

type goldenExpect struct {
	Skip      bool    `json:"skip"`
	Error     string  `json:"error"`
	Topic     string  `json:"topic"`
	Partition *int32  `json:"partition"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
	ValueB64  *string `json:"value_b64"`
	Headers   []struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	} `json:"headers"`
	TimestampMs *int64 `json:"timestamp_ms"`
	Murmur2     *int32 `json:"murmur2_partition_if_3_partitions"`
}

// orderedColumns keeps the column order of the JSON object (the table's column order).
type orderedColumns []struct{ Name, Type string }

func (o *orderedColumns) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, struct{ Name, Type string }{k.(string), v})
	}
	return nil
}

// pgType maps the golden file's type names to (oid, typmod).
func pgType(t testing.TB, name string) (uint32, int32) {
	t.Helper()
	base, arg, hasArg := strings.Cut(strings.TrimSuffix(name, ")"), "(")
	n := -1
	if hasArg {
		var err error
		if n, err = strconv.Atoi(arg); err != nil && base != "numeric" {
			t.Fatalf("type %q: %v", name, err)
		}
	}
	switch base {
	case "uuid":
		return OIDUUID, -1
	case "varchar", "character varying":
		if n >= 0 {
			return OIDVarchar, int32(n + 4)
		}
		return OIDVarchar, -1
	case "text":
		return OIDText, -1
	case "jsonb":
		return OIDJSONB, -1
	case "json":
		return OIDJSON, -1
	case "bytea":
		return OIDBytea, -1
	case "bigint", "int8":
		return OIDInt8, -1
	case "int4", "integer":
		return OIDInt4, -1
	case "int2", "smallint":
		return OIDInt2, -1
	case "boolean", "bool":
		return OIDBool, -1
	case "timestamp":
		return OIDTimestamp, int32(n)
	case "timestamptz":
		return OIDTimestamptz, int32(n)
	case "numeric":
		if !hasArg {
			return OIDNumeric, -1
		}
		p, s, _ := strings.Cut(arg, ",")
		pi, _ := strconv.Atoi(p)
		si, _ := strconv.Atoi(s)
		return OIDNumeric, int32(pi<<16|si) + 4
	}
	t.Fatalf("unknown column type %q in the golden file", name)
	return 0, 0
}

// notNullColumns are NOT NULL in the contract's outbox DDL (id is the primary key).
var notNullColumns = map[string]bool{"id": true, "aggregatetype": true, "aggregateid": true, "type": true}

func (c *goldenCase) change(t testing.TB) Change {
	t.Helper()
	var cols []Column
	for _, col := range c.Columns {
		oid, typmod := pgType(t, col.Type)
		v, present := c.Row[col.Name]
		cc := Column{Name: col.Name, TypeOID: oid, TypeMod: typmod, Key: col.Name == "id", Null: !present || v == nil}
		if !cc.Null {
			cc.Value = []byte(*v)
		}
		// A column the case sets to NULL cannot be NOT NULL.
		cc.NotNull = notNullColumns[col.Name] && !cc.Null
		cols = append(cols, cc)
	}
	ops := map[string]Op{"c": OpCreate, "r": OpRead, "u": OpUpdate, "d": OpDelete, "t": OpTruncate, "tombstone": OpDelete}
	op, ok := ops[c.Op]
	if !ok {
		t.Fatalf("op %q", c.Op)
	}
	return Change{Op: op, Schema: "public", Table: "outbox", After: cols}
}

func converterProps(t testing.TB, conv goldenConverters) map[string]string {
	t.Helper()
	props := map[string]string{}
	for kind, name := range map[string]string{"key": conv.Key, "value": conv.Value} {
		switch name {
		case "string":
			props[kind+".converter"] = "org.apache.kafka.connect.storage.StringConverter"
		case "json", "json_schemas":
			props[kind+".converter"] = "org.apache.kafka.connect.json.JsonConverter"
			props[kind+".converter.schemas.enable"] = strconv.FormatBool(name == "json_schemas")
		case "bytearray":
			props[kind+".converter"] = "org.apache.kafka.connect.converters.ByteArrayConverter"
		default:
			t.Fatalf("converter %q", name)
		}
	}
	if conv.Header != "simple" {
		t.Fatalf("header converter %q", conv.Header)
	}
	props["header.converter"] = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
	return props
}

func (c *goldenCase) config(t testing.TB, conv goldenConverters) map[string]string {
	t.Helper()
	cfg := map[string]string{
		"topic.prefix":           "app",
		"transforms":             "outbox",
		"transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
	}
	for k, v := range c.Config.Connector {
		cfg[k] = v
	}
	for k, v := range c.Config.Router {
		cfg["transforms.outbox."+k] = v
	}
	for k, v := range converterProps(t, conv) {
		cfg[k] = v
	}
	return cfg
}

// goldenErrors is what each error case's message must mention.
var goldenErrors = map[string]string{
	"expand_top_level_array_breaks_json_converter": "DataException: Invalid type for ARRAY: class java.lang.String",
	"route_value_null_fails":                       "NullPointerException",
	"timestamptz_column_fails":                     "DataException: Field 'created_at' is not of type INT64",
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("../../testdata/debezium-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestGolden(t *testing.T) {
	cases := loadGolden(t)
	if len(cases) < 34 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, gc := range cases {
		t.Run(gc.Name, func(t *testing.T) {
			runGolden(t, &gc, gc.Config.Converters, gc.Expect)
			for i, v := range gc.Variants {
				t.Run(fmt.Sprintf("variant%d", i), func(t *testing.T) {
					exp := gc.Expect
					if v.Key != nil {
						exp.Key = rawString(t, v.Key)
					}
					if v.Value != nil {
						exp.Value = rawString(t, v.Value)
						exp.ValueB64 = nil
					}
					// Changing the key converter moves the key's murmur2 partition.
					exp.Murmur2 = nil
					runGolden(t, &gc, v.Converters, exp)
				})
			}
		})
	}
}

func rawString(t testing.TB, raw json.RawMessage) *string {
	t.Helper()
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func runGolden(t *testing.T, gc *goldenCase, conv goldenConverters, exp goldenExpect) {
	now := time.UnixMilli(1_700_000_000_123).Add(456 * time.Microsecond)
	r, errs := New("outbox-connector", gc.config(t, conv), Worker{}, discardLog)
	if len(errs) > 0 {
		t.Fatalf("New: %v", errs)
	}
	var rec *Record
	var err error
	if gc.Op == "heartbeat" {
		rec, err = r.Heartbeat(now)
	} else {
		rec, err = r.Route(gc.change(t), now)
	}
	switch {
	case exp.Error != "":
		if err == nil {
			t.Fatalf("Route succeeded with %+v; want a task failure (%s)", rec, exp.Error)
		}
		if want := goldenErrors[gc.Name]; !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
		return
	case err != nil:
		t.Fatalf("Route: %v", err)
	case exp.Skip:
		if rec != nil {
			t.Fatalf("Route returned %+v; want the change dropped", rec)
		}
		return
	case rec == nil:
		t.Fatal("Route dropped the change")
	}

	if rec.Topic != exp.Topic {
		t.Errorf("topic = %q, want %q", rec.Topic, exp.Topic)
	}
	wantPartition := int32(-1)
	if exp.Partition != nil {
		wantPartition = *exp.Partition
	}
	if rec.Partition != wantPartition {
		t.Errorf("partition = %d, want %d", rec.Partition, wantPartition)
	}
	nowText := strconv.FormatInt(now.UnixMilli(), 10)
	checkBytes(t, "key", rec.Key, exp.Key, nowText)
	if exp.ValueB64 != nil {
		want, err := base64.StdEncoding.DecodeString(*exp.ValueB64)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Value, want) {
			t.Errorf("value = %x, want %x", rec.Value, want)
		}
	} else {
		checkBytes(t, "value", rec.Value, exp.Value, nowText)
	}
	if len(rec.Headers) != len(exp.Headers) {
		t.Fatalf("headers = %s, want %d headers", fmtHeaders(rec.Headers), len(exp.Headers))
	}
	for i, h := range exp.Headers {
		got := rec.Headers[i]
		want := h.Value
		if want != nil && *want == "<RANDOM-UUID-PER-TASK-START>" {
			if !uuidRE.Match(got.Value) {
				t.Errorf("runId header %q is not a random UUID", got.Value)
			}
			runID := r.RunID()
			want = &runID
		}
		if got.Key != h.Key {
			t.Errorf("header %d key = %q, want %q", i, got.Key, h.Key)
		}
		checkBytes(t, "header "+h.Key, got.Value, want, nowText)
	}
	wantTS := now.UnixMilli()
	if exp.TimestampMs != nil {
		wantTS = *exp.TimestampMs
	}
	if rec.Timestamp.UnixMilli() != wantTS {
		t.Errorf("timestamp = %d, want %d", rec.Timestamp.UnixMilli(), wantTS)
	}
	if exp.Murmur2 != nil {
		if p := Murmur2Partition(rec.Key, 3); p != *exp.Murmur2 {
			t.Errorf("murmur2 partition of key %q among 3 = %d, want %d", rec.Key, p, *exp.Murmur2)
		}
	}
}

func checkBytes(t *testing.T, what string, got []byte, want *string, now string) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s = %q, want null", what, got)
		}
		return
	}
	w := strings.ReplaceAll(*want, "<now>", now)
	if got == nil || string(got) != w {
		if got == nil {
			t.Errorf("%s = null, want %q", what, w)
		} else {
			t.Errorf("%s = %q, want %q", what, got, w)
		}
	}
}

func fmtHeaders(hs []Header) string {
	var parts []string
	for _, h := range hs {
		if h.Value == nil {
			parts = append(parts, h.Key+"=<null>")
		} else {
			parts = append(parts, h.Key+"="+string(h.Value))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
