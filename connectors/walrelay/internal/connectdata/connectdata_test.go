package connectdata

import (
	"encoding/hex"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func mustStruct(t *testing.T, s *Schema, kv ...any) *Struct {
	t.Helper()
	st, err := NewStruct(s)
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
	inner := &Schema{Type: TypeStruct, Optional: true, Name: "in", Fields: []Field{{Name: "x", Schema: OptionalInt32Schema}}}
	outer := &Schema{Type: TypeStruct, Name: "out", Version: Version(2), Doc: "d", Fields: []Field{
		{Name: "s", Schema: StringSchema},
		{Name: "f", Schema: &Schema{Type: TypeFloat32}},
		{Name: "d", Schema: OptionalFloat64Schema},
		{Name: "b", Schema: OptionalBytesSchema},
		{Name: "l", Schema: &Schema{Type: TypeArray, Optional: true, Value: OptionalInt64Schema}},
		{Name: "in", Schema: inner},
		{Name: "def", Schema: &Schema{Type: TypeString, Optional: true, Default: "dflt"}},
		{Name: "i16", Schema: &Schema{Type: TypeInt16}},
	}}
	v := mustStruct(t, outer, "s", "a\"b", "f", float32(0.1), "d", math.NaN(), "b", ByteBuffer("hi"), "l", List{int64(1), nil},
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
	if b, _ := c.FromConnectData(OptionalStringSchema, nil); string(b) != `{"schema":{"type":"string","optional":true},"payload":null}` {
		t.Errorf("optional null: %s", b)
	}
	if b, _ := c.FromConnectData(nil, "x"); string(b) != `{"schema":null,"payload":"x"}` {
		t.Errorf("schemaless: %s", b)
	}
	if _, err := c.FromConnectData(StringSchema, nil); err == nil || !strings.Contains(err.Error(), "null value for field that is required") {
		t.Errorf("required null: %v", err)
	}
	arr := &Schema{Type: TypeArray, Value: Int32Schema}
	if _, err := c.FromConnectData(arr, "[1]"); err == nil || err.Error() != "org.apache.kafka.connect.errors.DataException: Invalid type for ARRAY: class java.lang.String" {
		t.Errorf("array with string: %v", err)
	}
	other := &Schema{Type: TypeStruct, Fields: []Field{{Name: "a", Schema: Int32Schema}}}
	st := mustStruct(t, &Schema{Type: TypeStruct, Fields: []Field{{Name: "b", Schema: Int32Schema}}}, "b", int32(1))
	if _, err := c.FromConnectData(other, st); err == nil || !strings.Contains(err.Error(), "Mismatching schema.") {
		t.Errorf("mismatching struct: %v", err)
	}
	if b, _ := (JSONConverter{}).FromConnectData(OptionalStringSchema, nil); string(b) != "null" {
		t.Errorf("schemas off, null with schema: %s", b)
	}
}

func TestDecimal(t *testing.T) {
	s := &Schema{Type: TypeBytes, Name: DecimalName, Version: Version(1), Params: []Param{{"scale", "2"}}}
	d := Decimal{Unscaled: big.NewInt(-1999), Scale: 2}
	b, err := JSONConverter{}.FromConnectData(s, d)
	if err != nil || string(b) != `"+DE="` {
		t.Errorf("BASE64 decimal: %s %v", b, err)
	}
	b, _ = JSONConverter{DecimalNumeric: true}.FromConnectData(s, d)
	if string(b) != "-19.99" {
		t.Errorf("NUMERIC decimal: %s", b)
	}
	if _, err := (JSONConverter{}).FromConnectData(s, Decimal{Unscaled: big.NewInt(1), Scale: 1}); err == nil {
		t.Errorf("scale mismatch accepted")
	}
	if str, _ := JavaString(d); str != "-19.99" {
		t.Errorf("toString %s", str)
	}
}

func TestToByteArray(t *testing.T) {
	for in, want := range map[int64]string{0: "00", 1: "01", 127: "7f", 128: "0080", 255: "00ff", -1: "ff", -128: "80", -129: "ff7f", 1999: "07cf", -100: "9c"} {
		if got := hex.EncodeToString(ToByteArray(big.NewInt(in))); got != want {
			t.Errorf("toByteArray(%d) = %s, want %s", in, got, want)
		}
	}
}

func TestStringForms(t *testing.T) {
	inner := &Schema{Type: TypeStruct, Fields: []Field{{Name: "q", Schema: OptionalStringSchema}, {Name: "n", Schema: OptionalInt32Schema}}}
	s := &Schema{Type: TypeStruct, Fields: []Field{
		{Name: "l", Schema: &Schema{Type: TypeArray, Value: OptionalStringSchema}},
		{Name: "in", Schema: inner},
		{Name: "buf", Schema: BytesSchema},
		{Name: "d", Schema: &Schema{Type: TypeFloat64}},
		{Name: "skip", Schema: OptionalStringSchema},
	}}
	v := mustStruct(t, s, "l", List{"a", nil, `q"\`}, "in", mustStruct(t, inner, "q", "x"), "buf", ByteBuffer("hi"), "d", 1e7)
	if got, _ := JavaString(v); got != `Struct{l=[a, null, q"\],in=Struct{q=x},buf=java.nio.HeapByteBuffer[pos=0 lim=2 cap=2],d=1.0E7}` {
		t.Errorf("toString: %s", got)
	}
	if got, _ := HeaderString(v); got != `{"l":["a",null,"q\"\\"],"in":{"q":"x","n":null},"buf":"aGk=","d":1.0E7,"skip":null}` {
		t.Errorf("header string: %s", got)
	}
	// byte[].toString(): "[B@" and an identity hash, which differs between objects.
	a, err := JavaString(ByteArray{1})
	b, _ := JavaString(ByteArray{1})
	if err != nil || !regexp.MustCompile(`^\[B@[1-9a-f][0-9a-f]{0,7}$`).MatchString(a) {
		t.Errorf("byte[] toString = %q, %v", a, err)
	}
	if a == b {
		t.Errorf("two byte[] printed with the same identity hash %q", a)
	}
	if b, _ := (SimpleHeaderConverter{}).FromConnectData(nil, nil); b != nil {
		t.Errorf("null header")
	}
}

func TestByteArrayConverter(t *testing.T) {
	if b, err := (ByteArrayConverter{}).FromConnectData(OptionalBytesSchema, ByteBuffer{1, 2}); err != nil || len(b) != 2 {
		t.Errorf("%v %v", b, err)
	}
	if _, err := (ByteArrayConverter{}).FromConnectData(nil, "x"); err == nil || !strings.Contains(err.Error(), "not compatible with objects of type class java.lang.String") {
		t.Errorf("string: %v", err)
	}
}

func TestValidation(t *testing.T) {
	s := &Schema{Type: TypeStruct, Fields: []Field{{Name: "a", Schema: Int32Schema}}}
	st, _ := NewStruct(s)
	if err := st.Put("a", "x"); err == nil || err.Error() != `org.apache.kafka.connect.errors.DataException: Invalid Java object for schema with type INT32: class java.lang.String for field: "a"` {
		t.Errorf("wrong type: %v", err)
	}
	if err := st.Put("b", int32(1)); err == nil || !strings.Contains(err.Error(), "b is not a valid field name") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := NewStruct(Int32Schema); err == nil || !strings.Contains(err.Error(), "Not a struct schema: Schema{INT32}") {
		t.Errorf("non-struct: %v", err)
	}
	a := &Schema{Type: TypeBytes, Params: []Param{{"x", "1"}, {"y", "2"}}}
	b := &Schema{Type: TypeBytes, Params: []Param{{"y", "2"}, {"x", "1"}}}
	if !Equal(a, b) || a.Key() != b.Key() {
		t.Errorf("parameter order must not matter")
	}
}
