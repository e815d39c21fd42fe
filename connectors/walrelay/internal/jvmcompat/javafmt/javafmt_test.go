package javafmt

import (
	"math"
	"math/big"
	"testing"
)

func TestDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{1e23, "1.0E23"}, // JDK 17 printed 9.999999999999999E22
		{12345678.5, "1.23456785E7"},
		{0.0001, "1.0E-4"},
		{0.00001, "1.0E-5"},
		{0.001, "0.001"},
		{10.0, "10.0"},
		{19.99, "19.99"},
		{1000.0, "1000.0"},
		{1e3, "1000.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0, "0.0"},
		{1, "1.0"},
		{-1.5, "-1.5"},
		{9999999.0, "9999999.0"},
		{1e7, "1.0E7"},
		{0.1, "0.1"},
		{100, "100.0"},
		{123456789012, "1.23456789012E11"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{math.SmallestNonzeroFloat64, "4.9E-324"}, // two digits: closer than 5E-324
		{2e-323, "2.0E-323"},
		{math.Nextafter(0.001, 0), "9.999999999999998E-4"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{2.5e-5, "2.5E-5"},
		{1.0 / 3, "0.3333333333333333"},
	}
	for _, tc := range tests {
		if got := Double(tc.in); got != tc.want {
			t.Errorf("Double(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		in   float32
		want string
	}{
		{1.5, "1.5"},
		{0.1, "0.1"},
		{1e10, "1.0E10"},
		{3.4028235e38, "3.4028235E38"},
		{1.4e-45, "1.4E-45"},
		{12345678, "1.2345678E7"},
		{float32(math.NaN()), "NaN"},
	}
	for _, tc := range tests {
		if got := Float(tc.in); got != tc.want {
			t.Errorf("Float(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBigDecimal(t *testing.T) {
	tests := []struct {
		unscaled string
		scale    int32
		want     string
	}{
		{"1999", 2, "19.99"},
		{"1990", 2, "19.90"},
		{"-5", 1, "-0.5"},
		{"123", 0, "123"},
		{"1", -2, "1E+2"},
		{"15", 8, "1.5E-7"},
		{"1", 6, "0.000001"},
		{"1", 7, "1E-7"},
		{"12345", 10, "0.0000012345"},
		{"0", 2, "0.00"},
		{"0", -2, "0E+2"},
	}
	for _, tc := range tests {
		u, _ := new(big.Int).SetString(tc.unscaled, 10)
		if got := BigDecimal(u, tc.scale); got != tc.want {
			t.Errorf("BigDecimal(%s, %d) = %q, want %q", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}

func TestTrim(t *testing.T) {
	tests := map[string]string{
		"  a b \t\n":      "a b",
		"\x00\x1Fx\x20":   "x",
		"\u00A0x\u00A0":   "\u00A0x\u00A0", // no-break space survives Java's trim
		"\u2003x":         "\u2003x",
		"":                "",
		"   ":             "",
		"\u3000 payload ": "\u3000 payload",
	}
	for in, want := range tests {
		if got := Trim(in); got != want {
			t.Errorf("Trim(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUTF8LoneSurrogates(t *testing.T) {
	s := string(AppendSurrogate([]byte("a"), 0xD83D)) + "b😀"
	if got := string(UTF8(s)); got != "a?b😀" {
		t.Errorf("UTF8 = %q", got)
	}
}

func TestDecodeString(t *testing.T) {
	if got := DecodeString([]byte("a\xffb")); got != "a\uFFFDb" {
		t.Errorf("DecodeString = %q", got)
	}
}
