package jackson

import (
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`plain`, `"plain"`},
		{`quote " backslash \`, `"quote \" backslash \\"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001F` + "\x7f\""},
		{"\x0b", `"\u000B"`},
		{"/ < > & '", `"/ < > & '"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"é€", "\"é€\""},
		{"😀", `"\uD83D\uDE00"`},
		{string(javafmt.AppendSurrogate(nil, 0xDC00)), `"\uDC00"`},
	}
	for _, tc := range tests {
		if got := string(AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	n, err := Parse(`[1, -0, 2147483647, 2147483648, -2147483649, 9223372036854775807, 9223372036854775808, 1.0, 1e3, -0.0, 1E400]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []NumberType{Int, Int, Int, Long, Long, Long, BigInt, Double, Double, Double, Double}
	for i, e := range n.Elems {
		if e.NumType != want[i] {
			t.Errorf("element %d (%s): type %d, want %d", i, e.AsText(), e.NumType, want[i])
		}
	}
	if n.Elems[1].Int != 0 || n.Elems[8].Float != 1000 || n.Elems[10].AsText() != "Infinity" {
		t.Errorf("unexpected values %v %v %v", n.Elems[1].Int, n.Elems[8].Float, n.Elems[10].AsText())
	}
}

func TestParseObjects(t *testing.T) {
	n, err := Parse(`{"b": 1, "a": {"x": null}, "b": 2} trailing junk`)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Members) != 2 || n.Members[0].Name != "b" || n.Members[0].Value.Int != 2 || n.Members[1].Name != "a" {
		t.Fatalf("duplicate keys: got %+v", n.Members)
	}
	if !n.Get("a").Has("x") || n.Get("a").Get("x").Kind != Null {
		t.Errorf("null member lost")
	}
}

func TestParseStrings(t *testing.T) {
	n, err := Parse(`["\u00e9\/\"\\", "\ud83d\ude00", "\ud83d", "\udc00x"]`)
	if err != nil {
		t.Fatal(err)
	}
	if n.Elems[0].Str != `é/"\` || n.Elems[1].Str != "😀" {
		t.Errorf("got %q %q", n.Elems[0].Str, n.Elems[1].Str)
	}
	if got := string(AppendString(nil, n.Elems[2].Str)); got != `"\uD83D"` {
		t.Errorf("lone high surrogate round trip: %s", got)
	}
	if got := string(AppendString(nil, n.Elems[3].Str)); got != `"\uDC00x"` {
		t.Errorf("lone low surrogate round trip: %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":NaN}`, `{"a":-Infinity}`,
		`{"a":"x` + "\n" + `"}`, `{"a":"\x"}`, `{a:1}`, `{'a':1}`, `{"a":1,}`, `[1,]`, `{"a":1`,
		`[1 2]`, `{"a" 1}`, `[tru]`, `[truex]`, "[\x0b1]",
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
		}
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, err := Parse(deep); err != nil {
		t.Errorf("depth 1000: %v", err)
	}
	if _, err := Parse("[" + deep + "]"); err == nil {
		t.Errorf("depth 1001 accepted")
	}
	long := "[" + strings.Repeat("1", 1001) + "]"
	if _, err := Parse(long); err == nil {
		t.Errorf("1001-digit number accepted")
	}
}
