package connectdata

import (
	"encoding/hex"
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
