package eventrouter

import (
	"bytes"
	"testing"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
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
	tests := []struct {
		text   string
		typmod int32
		want   string
	}{
		{"2019-03-24 22:52:59+02", -1, "2019-03-24T20:52:59.000000Z"},
		{"2019-03-24 20:52:59.12+00", -1, "2019-03-24T20:52:59.120000Z"},
		{"2019-03-24 20:52:00.000001+00", -1, "2019-03-24T20:52:00.000001Z"},
		{"2019-03-24 20:52:59.12+00", 3, "2019-03-24T20:52:59.120Z"},
		{"2019-03-24 20:52:59.1+00", 1, "2019-03-24T20:52:59.1Z"},
		{"2019-03-24 22:52:59+02", 0, "2019-03-24T20:52:59Z"},
		{"10000-01-01 00:00:00+00", 0, "+10000-01-01T00:00:00Z"},
		{"0001-01-01 00:00:00+00 BC", 0, "0000-01-01T00:00:00Z"},
		{"0002-01-01 00:00:00+00 BC", 2, "-0001-01-01T00:00:00.00Z"},
		{"infinity", -1, "infinity"},
		{"-infinity", 3, "-infinity"},
	}
	for _, tc := range tests {
		micros, err := parseTimestamp(tc.text, true)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if got := zonedTimestamp(tc.text, micros, tc.typmod); got != tc.want {
			t.Errorf("zonedTimestamp(%q, typmod %d) = %q, want %q", tc.text, tc.typmod, got, tc.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for text, want := range map[string]int32{"1970-01-01": 0, "1970-01-02": 1, "1969-12-31": -1, "2000-03-01": 11017, "0001-01-01 BC": -719528,
		"infinity": -2147472692, "-infinity": -2147472691} { // LocalDate.parse("-5877611-06-21").toEpochDay() and the day after
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

// TestUnavailableBytea: the placeholder standing for an unchanged TOASTed
// bytea value is a byte[] in Debezium, not the ByteBuffer a bytea value is.
func TestUnavailableBytea(t *testing.T) {
	c := Column{Name: "b", TypeOID: OIDBytea, TypeMod: -1, Value: []byte(`\x5f5f`)}
	s, err := columnSchema(&c)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := columnValue(&c, s); err != nil {
		t.Fatal(err)
	} else if _, ok := v.(cd.ByteBuffer); !ok {
		t.Errorf("bytea value %T, want a ByteBuffer", v)
	}
	c.Unavailable = true
	v, err := columnValue(&c, s)
	if b, ok := v.(cd.ByteArray); err != nil || !ok || string(b) != "__" {
		t.Errorf("placeholder value %T %v, %v; want the byte[] of __", v, v, err)
	}
}

// TestInfiniteDates: streamed, infinity is the LocalDate Debezium's text
// parser makes of it; in a snapshot, the java.sql.Date JDBC returns.
func TestInfiniteDates(t *testing.T) {
	tests := []struct {
		text string
		op   Op
		want int32
	}{
		{"infinity", OpCreate, -2147472692},
		{"-infinity", OpUpdate, -2147472691},
		{"infinity", OpRead, -622191234},
		{"-infinity", OpRead, -625821272},
		{"2000-03-01", OpRead, 11017},
	}
	for _, tc := range tests {
		c := Column{Name: "d", TypeOID: OIDDate, TypeMod: -1, Value: []byte(tc.text)}
		s, err := columnSchema(&c)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := rowValue(&c, s, tc.op); err != nil || v != tc.want {
			t.Errorf("%s (op %c) = %v, %v; want %d", tc.text, tc.op, v, err, tc.want)
		}
	}
}
