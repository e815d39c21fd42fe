// Package javafmt reproduces the textual forms the JVM gives to numbers and strings, so Go code can emit the same
// bytes a Kafka Connect worker would: Double.toString and Float.toString as of JDK 19+ (the JDK 21 the Debezium
// images run), BigDecimal.toString, String.trim, and String.getBytes(UTF_8) for strings that may hold lone UTF-16
// surrogates.
//
// Strings here are Go strings holding the UTF-8 form of a Java string. A lone surrogate (possible only when a Java
// string was built from a JSON "\uD800" escape) is kept in its 3-byte generalized-UTF-8 form (WTF-8: ED A0..BF xx).
package javafmt

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Double formats f like java.lang.Double.toString on JDK 19 and later: the shortest decimal that rounds to f (when
// the shortest has one digit, the closest one- or two-digit decimal), in plain notation for 1e-3 <= |f| < 1e7 and
// in computerized scientific notation ("1.0E23", "1.0E-4") otherwise.
func Double(f float64) string {
	return formatFloat(f, 64)
}

// Float formats f like java.lang.Float.toString on JDK 19 and later.
func Float(f float32) string {
	return formatFloat(float64(f), 32)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	neg := f < 0
	abs := math.Abs(f)
	digits, exp := shortestDigits(abs, bits)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	// exp is the decimal exponent of the first digit: value = 0.d1d2... * 10^(exp+1) = d1.d2... * 10^exp.
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			intLen := exp + 1
			if len(digits) <= intLen {
				b.WriteString(digits)
				b.WriteString(strings.Repeat("0", intLen-len(digits)))
				b.WriteString(".0")
			} else {
				b.WriteString(digits[:intLen])
				b.WriteByte('.')
				b.WriteString(digits[intLen:])
			}
		} else {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -exp-1))
			b.WriteString(digits)
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	b.WriteByte('.')
	if len(digits) > 1 {
		b.WriteString(digits[1:])
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('E')
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}

// shortestDigits returns the significant digits (no trailing zeros) and the decimal exponent of the first digit of
// the decimal Java's algorithm selects for the positive finite value v.
func shortestDigits(v float64, bits int) (string, int) {
	digits, exp := splitE(strconv.FormatFloat(v, 'e', -1, bits))
	if len(digits) == 1 {
		// JDK 19+: when the shortest round-tripping decimal has one digit, Java picks the decimal of length one
		// or two closest to v (e.g. 4.9E-324 rather than 5E-324). The correctly rounded two-digit decimal is the
		// closest of those; use it when it still rounds to v.
		two := strconv.FormatFloat(v, 'e', 1, bits)
		if back, err := strconv.ParseFloat(two, bits); err == nil && back == v {
			digits, exp = splitE(two)
		}
	}
	return digits, exp
}

// splitE splits Go's 'e' format ("d.ddde±XX") into trailing-zero-free digits and the exponent.
func splitE(s string) (string, int) {
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		digits = "0"
	}
	return digits, exp
}

// BigDecimal formats the decimal unscaled×10^-scale like java.math.BigDecimal.toString: plain notation when scale
// >= 0 and the adjusted exponent is >= -6, scientific notation ("1E+2", "1.5E-7") otherwise.
func BigDecimal(unscaled *big.Int, scale int32) string {
	coeff := new(big.Int).Abs(unscaled).String()
	var b strings.Builder
	if unscaled.Sign() < 0 {
		b.WriteByte('-')
	}
	if scale == 0 {
		b.WriteString(coeff)
		return b.String()
	}
	adjusted := -int64(scale) + int64(len(coeff)-1)
	if scale > 0 && adjusted >= -6 {
		pad := int(scale) - len(coeff)
		if pad >= 0 {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", pad))
			b.WriteString(coeff)
		} else {
			b.WriteString(coeff[:-pad])
			b.WriteByte('.')
			b.WriteString(coeff[-pad:])
		}
		return b.String()
	}
	b.WriteByte(coeff[0])
	if len(coeff) > 1 {
		b.WriteByte('.')
		b.WriteString(coeff[1:])
	}
	if adjusted != 0 {
		b.WriteByte('E')
		if adjusted > 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatInt(adjusted, 10))
	}
	return b.String()
}

// Trim is java.lang.String.trim: it removes every leading and trailing character <= U+0020, and nothing else
// (no-break spaces and other Unicode spaces stay, unlike strings.TrimSpace).
func Trim(s string) string {
	start, end := 0, len(s)
	for start < end && s[start] <= ' ' {
		start++
	}
	for end > start && s[end-1] <= ' ' {
		end--
	}
	return s[start:end]
}

// UTF8 returns the bytes of String.getBytes(StandardCharsets.UTF_8) for the Java string s: valid UTF-8 is copied,
// and each lone surrogate (WTF-8 encoded) becomes '?', as the JDK's encoder replaces unmappable input.
func UTF8(s string) []byte {
	if utf8.ValidString(s) {
		return []byte(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if IsSurrogateAt(s, i) {
			out = append(out, '?')
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, '?')
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return out
}

// IsSurrogateAt reports whether s holds the WTF-8 encoding of a lone UTF-16 surrogate (U+D800..U+DFFF) at byte i.
func IsSurrogateAt(s string, i int) bool {
	return i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF
}

// SurrogateAt decodes the lone surrogate IsSurrogateAt found at byte i.
func SurrogateAt(s string, i int) uint16 {
	return uint16(0xD000) | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F)
}

// AppendSurrogate appends the WTF-8 form of the lone surrogate u (0xD800..0xDFFF).
func AppendSurrogate(dst []byte, u uint16) []byte {
	return append(dst, 0xED, 0x80|byte(u>>6)&0x3F, 0x80|byte(u)&0x3F)
}

// DecodeString turns bytes a PostgreSQL server sent as text into the Java string a UTF-8 decoder would build:
// valid UTF-8 is kept, each invalid byte becomes U+FFFD.
func DecodeString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		sb.WriteRune(r) // RuneError for an invalid byte
		b = b[size:]
	}
	return sb.String()
}
