package converter

import (
	"math"
	"math/big"
	"strings"
	"testing"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
)

func mustStruct(t *testing.T, s *cd.Schema, kv ...any) *cd.Struct {
	t.Helper()
	st, err := cd.NewStruct(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		if err := st.Put(kv[i].(string), kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestJSONConverter(t *testing.T) {
	inner := &cd.Schema{Type: cd.TypeStruct, Optional: true, Name: "in", Fields: []cd.Field{{Name: "x", Schema: cd.OptionalInt32Schema}}}
	outer := &cd.Schema{Type: cd.TypeStruct, Name: "out", Version: cd.Version(2), Doc: "d", Fields: []cd.Field{
		{Name: "s", Schema: cd.StringSchema},
		{Name: "f", Schema: &cd.Schema{Type: cd.TypeFloat32}},
		{Name: "d", Schema: cd.OptionalFloat64Schema},
		{Name: "b", Schema: cd.OptionalBytesSchema},
		{Name: "l", Schema: &cd.Schema{Type: cd.TypeArray, Optional: true, Value: cd.OptionalInt64Schema}},
		{Name: "in", Schema: inner},
		{Name: "def", Schema: &cd.Schema{Type: cd.TypeString, Optional: true, Default: "dflt"}},
		{Name: "i16", Schema: &cd.Schema{Type: cd.TypeInt16}},
	}}
	v := mustStruct(t, outer, "s", "a\"b", "f", float32(0.1), "d", math.NaN(), "b", cd.ByteBuffer("hi"), "l", cd.List{int64(1), nil},
		"in", mustStruct(t, inner, "x", int32(7)), "i16", int16(-3))
	withSchema := JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}
	got, err := withSchema.FromConnectData(outer, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"s"},{"type":"float","optional":false,"field":"f"},` +
		`{"type":"double","optional":true,"field":"d"},{"type":"bytes","optional":true,"field":"b"},` +
		`{"type":"array","items":{"type":"int64","optional":true},"optional":true,"field":"l"},` +
		`{"type":"struct","fields":[{"type":"int32","optional":true,"field":"x"}],"optional":true,"name":"in","field":"in"},` +
		`{"type":"string","optional":true,"default":"dflt","field":"def"},{"type":"int16","optional":false,"field":"i16"}],` +
		`"optional":false,"name":"out","version":2,"doc":"d"},` +
		`"payload":{"s":"a\"b","f":0.1,"d":"NaN","b":"aGk=","l":[1,null],"in":{"x":7},"def":"dflt","i16":-3}}`
	if string(got) != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	noDefault := JSONConverter{}
	got, _ = noDefault.FromConnectData(outer, v)
	if !strings.Contains(string(got), `"def":null`) {
		t.Errorf("replace.null.with.default=false: %s", got)
	}
}

func TestJSONConverterNullsAndErrors(t *testing.T) {
	c := JSONConverter{SchemasEnabled: true}
	if b, err := c.FromConnectData(nil, nil); b != nil || err != nil {
		t.Errorf("null schema and value: %q %v", b, err)
	}
	if b, _ := c.FromConnectData(cd.OptionalStringSchema, nil); string(b) != `{"schema":{"type":"string","optional":true},"payload":null}` {
		t.Errorf("optional null: %s", b)
	}
	if b, _ := c.FromConnectData(nil, "x"); string(b) != `{"schema":null,"payload":"x"}` {
		t.Errorf("schemaless: %s", b)
	}
	if _, err := c.FromConnectData(cd.StringSchema, nil); err == nil || !strings.Contains(err.Error(), "null value for field that is required") {
		t.Errorf("required null: %v", err)
	}
	arr := &cd.Schema{Type: cd.TypeArray, Value: cd.Int32Schema}
	if _, err := c.FromConnectData(arr, "[1]"); err == nil || err.Error() != "org.apache.kafka.connect.errors.DataException: Invalid type for ARRAY: class java.lang.String" {
		t.Errorf("array with string: %v", err)
	}
	other := &cd.Schema{Type: cd.TypeStruct, Fields: []cd.Field{{Name: "a", Schema: cd.Int32Schema}}}
	st := mustStruct(t, &cd.Schema{Type: cd.TypeStruct, Fields: []cd.Field{{Name: "b", Schema: cd.Int32Schema}}}, "b", int32(1))
	if _, err := c.FromConnectData(other, st); err == nil || !strings.Contains(err.Error(), "Mismatching schema.") {
		t.Errorf("mismatching struct: %v", err)
	}
	if b, _ := (JSONConverter{}).FromConnectData(cd.OptionalStringSchema, nil); string(b) != "null" {
		t.Errorf("schemas off, null with schema: %s", b)
	}
}

func TestDecimal(t *testing.T) {
	s := &cd.Schema{Type: cd.TypeBytes, Name: cd.DecimalName, Version: cd.Version(1), Params: []cd.Param{{Key: "scale", Value: "2"}}}
	d := cd.Decimal{Unscaled: big.NewInt(-1999), Scale: 2}
	b, err := JSONConverter{}.FromConnectData(s, d)
	if err != nil || string(b) != `"+DE="` {
		t.Errorf("BASE64 decimal: %s %v", b, err)
	}
	b, _ = JSONConverter{DecimalNumeric: true}.FromConnectData(s, d)
	if string(b) != "-19.99" {
		t.Errorf("NUMERIC decimal: %s", b)
	}
	if _, err := (JSONConverter{}).FromConnectData(s, cd.Decimal{Unscaled: big.NewInt(1), Scale: 1}); err == nil {
		t.Errorf("scale mismatch accepted")
	}
	if str, _ := cd.JavaString(d); str != "-19.99" {
		t.Errorf("toString %s", str)
	}
}

func TestByteArrayConverter(t *testing.T) {
	if b, err := (ByteArrayConverter{}).FromConnectData(cd.OptionalBytesSchema, cd.ByteBuffer{1, 2}); err != nil || len(b) != 2 {
		t.Errorf("%v %v", b, err)
	}
	if _, err := (ByteArrayConverter{}).FromConnectData(nil, "x"); err == nil || !strings.Contains(err.Error(), "not compatible with objects of type class java.lang.String") {
		t.Errorf("string: %v", err)
	}
}

func TestSimpleHeaderConverter(t *testing.T) {
	if b, _ := (SimpleHeaderConverter{}).FromConnectData(nil, nil); b != nil {
		t.Errorf("null header")
	}
}
