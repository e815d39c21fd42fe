package eventrouter

import (
	"bytes"
	"testing"
)

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		text     string
		withZone bool
		micros   int64
	}{
		{"1970-01-01 00:00:00", false, 0},
		{"2019-03-24 20:52:59", false, 1553460779000000},
		{"2019-03-24 20:52:59.5", false, 1553460779500000},
		{"2019-03-24 20:52:59.123456", false, 1553460779123456},
		{"1969-12-31 23:59:59.999999", false, -1},
		{"0001-01-01 00:00:00", false, -62135596800000000},
		{"0001-12-31 00:00:00 BC", false, -62135683200000000},
		{"10000-01-01 00:00:00", false, 253402300800000000},
		{"2019-03-24 22:52:59+02", true, 1553460779000000},
		{"2019-03-24 15:22:59.25-05:30", true, 1553460779250000},
		{"1900-01-01 00:00:00+00:53:28", true, -2208992008000000},
		{"infinity", false, pgPositiveInfinity},
		{"-infinity", true, pgNegativeInfinity},
	}
	for _, tc := range tests {
		got, err := parseTimestamp(tc.text, tc.withZone)
		if err != nil || got != tc.micros {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", tc.text, got, err, tc.micros)
		}
	}
	for _, bad := range []string{"2019-03-24", "2019-03-24T20:52:59", "2019-03-24 20:52:59.1234567", "2019-03-24 20:52:59 +02"} {
		if _, err := parseTimestamp(bad, false); err == nil {
			t.Errorf("parseTimestamp(%q) accepted", bad)
		}
	}
}

func TestZonedTimestamp(t *testing.T) {
	tests := map[string]string{
		"2019-03-24 22:52:59+02":        "2019-03-24T20:52:59Z",
		"2019-03-24 20:52:59.120+00":    "2019-03-24T20:52:59.12Z",
		"2019-03-24 20:52:00.000001+00": "2019-03-24T20:52:00.000001Z",
		"10000-01-01 00:00:00+00":       "+10000-01-01T00:00:00Z",
		"0001-01-01 00:00:00+00 BC":     "0000-01-01T00:00:00Z",
		"0002-01-01 00:00:00+00 BC":     "-0001-01-01T00:00:00Z",
		"infinity":                      "+292278994-08-16T23:00:00Z",
	}
	for text, want := range tests {
		micros, err := parseTimestamp(text, true)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := zonedTimestamp(text, micros); got != want {
			t.Errorf("zonedTimestamp(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for text, want := range map[string]int32{"1970-01-01": 0, "1970-01-02": 1, "1969-12-31": -1, "2000-03-01": 11017, "0001-01-01 BC": -719528} {
		if got, err := parseDate(text); err != nil || got != want {
			t.Errorf("parseDate(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
}

func TestNumericTypmod(t *testing.T) {
	for _, tc := range []struct {
		typmod  int32
		p, s    int
		bounded bool
	}{
		{-1, 0, 0, false},
		{10<<16 | 2 + 4, 10, 2, true},
		{5<<16 + 4, 5, 0, true},
		{(3<<16 | (-2 & 0x7ff)) + 4, 3, -2, true},
	} {
		p, s, ok := numericTypmod(tc.typmod)
		if p != tc.p || s != tc.s || ok != tc.bounded {
			t.Errorf("numericTypmod(%d) = %d,%d,%v; want %d,%d,%v", tc.typmod, p, s, ok, tc.p, tc.s, tc.bounded)
		}
	}
}

func TestDecodeBytea(t *testing.T) {
	for text, want := range map[string][]byte{`\x7b2261223a317d`: []byte(`{"a":1}`), `\x`: {}, `ab\\c\000\377`: {'a', 'b', '\\', 'c', 0, 0xff}} {
		got, err := decodeBytea(text)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("decodeBytea(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
}

func TestTimestampSchemaPrecision(t *testing.T) {
	for typmod, want := range map[int32]string{-1: microTimestampName, 0: timestampName, 3: timestampName, 4: microTimestampName, 6: microTimestampName} {
		s, err := columnSchema(&Column{Name: "ts", TypeOID: OIDTimestamp, TypeMod: typmod})
		if err != nil || s.Name != want {
			t.Errorf("timestamp(%d) schema %v, %v; want %s", typmod, s, err, want)
		}
	}
}
