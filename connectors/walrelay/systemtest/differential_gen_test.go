package systemtest

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// gen is the seeded source of every generated value. It is used from one
// goroutine only (the workload is planned before it is written).
type gen struct {
	r   *rand.Rand
	seq int64
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *gen) intn(n int) int           { return g.r.IntN(n) }
func (g *gen) chance(p float64) bool    { return g.r.Float64() < p }
func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) between(lo, hi int) int   { return lo + g.r.IntN(hi-lo+1) }

func (g *gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// next returns a number unique within the test.
func (g *gen) next() int64 {
	g.seq++
	return g.seq
}

// Text pieces: plain ASCII, characters JSON and Java escape, Latin-1, the
// BMP (including the line separators Java's regex '.' refuses and a BOM),
// astral characters (surrogate pairs in Java) and the replacement char.
var (
	asciiWords  = []string{"order", "total", "Alpha", "beta_2", "x", "42", "a b", "CAPS", "mixed-Case", "v1.2"}
	escapeBits  = []string{`"`, `\`, "/", "\t", "\n", "\r", "\b", "\f", "\x01", "\x1f", "\x7f", "'", "<", ">", "&", "$", "${x}", "%s", "\\u0041"}
	latinBits   = []string{"é", "ß", "ÿ", "Ä", "ñ", "©", "\u00a0", "\u0085"}
	bmpBits     = []string{"中文", "Ключ", "ελληνικά", "עברית", "\u2028", "\u2029", "\ufeff", "e\u0301", "\u200b", "ｆｕｌｌ", "\u3000", "\ufffd"}
	astralBits  = []string{"😀", "𝄞", "👍🏽", "🇩🇪", "\U0010ffff", "𐍈"}
	eventTypes  = []string{"OrderCreated", "OrderConfirmed", "PaymentAuthorized", "StockReserved", "Événement", "注文作成", "a\"b", "tab\there", "", " padded "}
	routeValues = []string{"order", "payment", "inventory", "customer-profile", "a_b.c", "UPPER", "x1"}
)

// text returns up to n runes of mixed text.
func (g *gen) text(n int) string {
	var b strings.Builder
	for runes := 0; runes < n; {
		var s string
		switch k := g.intn(20); {
		case k < 10:
			s = g.pick(asciiWords...)
		case k < 13:
			s = g.pick(escapeBits...)
		case k < 15:
			s = g.pick(latinBits...)
		case k < 18:
			s = g.pick(bmpBits...)
		default:
			s = g.pick(astralBits...)
		}
		runes += len([]rune(s))
		if runes > n && b.Len() > 0 {
			break
		}
		b.WriteString(s)
	}
	return b.String()
}

// keyText is a record key: numbers, UUIDs, unicode, escapes, empty.
func (g *gen) keyText() string {
	switch g.intn(8) {
	case 0:
		return strconv.Itoa(g.intn(100))
	case 1:
		return g.uuid()
	case 2:
		return ""
	case 3:
		return g.text(g.between(1, 12))
	case 4:
		return "order-" + strconv.Itoa(g.intn(1000))
	case 5:
		return g.pick(bmpBits...) + strconv.Itoa(g.intn(50))
	case 6:
		return g.pick(astralBits...) + g.pick(escapeBits...)
	default:
		return strconv.FormatInt(int64(g.r.Uint64()>>1), 10)
	}
}

// jsonOpts says what payload JSON may contain.
type jsonOpts struct {
	// expandable keeps the document within what Debezium's JSON expansion
	// converts without failing the task: a top-level object, integers
	// within int64, arrays whose elements have one shape, no nested arrays.
	expandable bool
	// verbatim: the column is json or text, so the text reaches the
	// record as written (jsonb would normalise it); the generator then adds
	// whitespace, duplicate keys and escapes jsonb would rewrite.
	verbatim bool
}

// jsonDoc returns a JSON document of roughly size bytes.
func (g *gen) jsonDoc(o jsonOpts, size int) string {
	var b strings.Builder
	if !o.expandable && g.chance(0.1) {
		g.jsonArray(&b, o, 2, size)
	} else {
		g.jsonObject(&b, o, 2, size)
	}
	return b.String()
}

var jsonKeys = []string{"id", "orderId", "total", "items", "customer", "a", "b", "zeta", "mid", "x", "y",
	"é", "中", "😀", "with space", "a.b", "$ref", "1abc", "", `q"uote`, "back\\slash", "payload", "schema", "UPPER", "lower"}

func (g *gen) jsonObject(b *strings.Builder, o jsonOpts, depth, size int) {
	b.WriteByte('{')
	n := g.between(0, 6)
	if size > 200 {
		n = g.between(4, 12)
	}
	var keys []string
	seen := map[string]bool{}
	for range n {
		k := g.pick(jsonKeys...)
		if seen[k] && !(o.verbatim && g.chance(0.3)) {
			continue // a duplicate key only where the text stays verbatim
		}
		seen[k] = true
		keys = append(keys, k)
	}
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
			if o.verbatim && g.chance(0.3) {
				b.WriteString(g.pick(" ", "\n  ", "\t"))
			}
		}
		g.jsonString(b, k, o)
		b.WriteByte(':')
		if o.verbatim && g.chance(0.3) {
			b.WriteByte(' ')
		}
		per := size / max(len(keys), 1)
		g.jsonValue(b, o, depth-1, per)
	}
	b.WriteByte('}')
}

func (g *gen) jsonArray(b *strings.Builder, o jsonOpts, depth, size int) {
	b.WriteByte('[')
	n := g.between(0, 4)
	if size > 200 {
		n = max(size/120, 2)
	}
	if o.expandable {
		// One element kind per array, as JsonSchemaData requires.
		kind := g.intn(5)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			switch kind {
			case 0:
				b.WriteString(strconv.Itoa(g.between(-1000, 1000)))
			case 1:
				g.jsonString(b, g.text(g.between(0, 20)), o)
			case 2:
				b.WriteString(g.pick("true", "false"))
			case 3:
				b.WriteString(strconv.FormatFloat(g.r.NormFloat64()*1000, 'f', g.between(1, 6), 64))
			default:
				b.WriteString(`{"sku":`)
				g.jsonString(b, "SKU-"+strconv.Itoa(g.intn(100)), o)
				b.WriteString(`,"qty":` + strconv.Itoa(g.between(1, 9)) + `,"note":`)
				g.jsonString(b, g.text(g.between(0, 8)), o)
				b.WriteByte('}')
			}
		}
		b.WriteByte(']')
		return
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		g.jsonValue(b, o, depth-1, size/max(n, 1))
	}
	b.WriteByte(']')
}

// jsonValue writes one value of roughly size bytes.
func (g *gen) jsonValue(b *strings.Builder, o jsonOpts, depth, size int) {
	if size > 400 {
		// Bulk: a long string or an array of strings.
		if g.chance(0.5) {
			g.jsonString(b, g.text(size/3), o)
			return
		}
		b.WriteByte('[')
		for i := 0; i < size/60; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			g.jsonString(b, g.text(20), o)
		}
		b.WriteByte(']')
		return
	}
	k := g.intn(12)
	if depth <= 0 && k >= 9 {
		k = g.intn(9)
	}
	switch {
	case k == 0:
		b.WriteString("null")
	case k <= 2:
		g.jsonString(b, g.text(g.between(0, 16)), o)
	case k <= 5:
		b.WriteString(g.jsonNumber(o))
	case k <= 6:
		b.WriteString(g.pick("true", "false"))
	case k <= 8:
		g.jsonString(b, g.pick(asciiWords...), o)
	case k <= 10:
		g.jsonObject(b, o, depth, 40)
	default:
		g.jsonArray(b, o, depth, 40)
	}
}

// jsonNumber covers integers of every width, fractions that keep their
// scale, exponents and negative zero.
func (g *gen) jsonNumber(o jsonOpts) string {
	switch g.intn(12) {
	case 0:
		return strconv.Itoa(g.between(-100, 100))
	case 1:
		return strconv.FormatInt(int64(g.r.Uint64()>>1)*int64(1-2*g.intn(2)), 10) // int64 range
	case 2:
		return g.pick("2147483647", "-2147483648", "2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808")
	case 3:
		return g.pick("19.99", "1.50", "10.0", "0.1", "-0.0", "100.000", "3.14159265358979")
	case 4:
		if o.expandable && !o.verbatim {
			// jsonb writes exponents out in full: an integer past int64 would fail the expansion's conversion.
			return g.pick("1e3", "1E-7", "2.5e+10", "-4.2E-3", "1.0e2", "5e-324")
		}
		return g.pick("1e3", "1E-7", "2.5e+10", "-4.2E-3", "1.0e2", "5e-324", "1.7976931348623157e308", "6.02214076e23")
	case 5:
		if o.expandable {
			return "0"
		}
		return g.pick("-0", "123456789012345678901234567890", "0.000000000000000000000000001", "1e400")
	case 6:
		return strconv.FormatFloat(g.r.NormFloat64()*1e6, 'g', -1, 64)
	case 7:
		return strconv.FormatFloat(g.r.Float64(), 'f', -1, 64)
	case 8:
		return strconv.FormatFloat(math.Ldexp(g.r.Float64(), g.between(-60, 60)), 'e', g.between(0, 16), 64)
	case 9:
		return strconv.FormatFloat(float64(float32(g.r.NormFloat64()*100)), 'f', -1, 32)
	default:
		return strconv.Itoa(g.between(0, 1_000_000))
	}
}

// jsonString writes s as a JSON string; in verbatim columns some
// characters are written as \u escapes.
func (g *gen) jsonString(b *strings.Builder, s string, o jsonOpts) {
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, `\u%04x`, c)
		case c == '/' && g.chance(0.5):
			b.WriteString(`\/`)
		case o.verbatim && c > 0x7f && g.chance(0.3):
			if c > 0xffff {
				r1, r2 := utf16Pair(c)
				fmt.Fprintf(b, `\u%04x\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04X`, c)
			}
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
}

func utf16Pair(c rune) (rune, rune) {
	c -= 0x10000
	return 0xd800 + (c>>10)&0x3ff, 0xdc00 + c&0x3ff
}

// payloadSize picks a payload size: mostly small, some past the TOAST
// threshold, a few of 100 KB and more.
func (g *gen) payloadSize(allowLarge bool) int {
	switch k := g.intn(1000); {
	case k < 6 && allowLarge:
		return g.between(100_000, 240_000)
	case k < 120:
		return g.between(2_000, 12_000)
	default:
		return g.between(10, 300)
	}
}

// textPayload is a text column payload: JSON, JSON with surrounding
// whitespace, whitespace only (empty to String.trim or not), arbitrary
// text.
func (g *gen) textPayload(size int, o jsonOpts) string {
	switch g.intn(12) {
	case 0:
		return ""
	case 1:
		return g.pick(" ", "\t\n", "\x01\x02", " \u00a0 ", "\u2003", "\x1f", "\u3000", "\r\n\x0b")
	case 2:
		return g.pick(" ", "\n", "\t") + g.jsonDoc(o, size)
	case 3:
		return g.jsonDoc(o, size) + g.pick(" ", "\n")
	case 4:
		return g.text(max(size/4, 1))
	case 5:
		if o.expandable {
			// Top-level arrays are left out: expanded, they fail the task with JsonConverter.
			return g.pick("{}", "{", "null", "true", "\"str\"", "12", "{\"a\":}", "{'a':1}", "{\"a\":1} trailing", "{\"a\":1}{\"b\":2}", "{\"a\":1,\"a\":{\"b\":2}}")
		}
		return g.pick("[1, 2]", "[]", "{}", "{", "null", "true", "\"str\"", "12", "{\"a\":}", "{'a':1}", "{\"a\":1} trailing")
	default:
		return g.jsonDoc(o, size)
	}
}

// bytes returns n random bytes in PostgreSQL's bytea hex input form.
func (g *gen) bytea(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return `\x` + hex.EncodeToString(b)
}

// timestampText is a timestamp years before the current time (so a record
// timestamp read from it cannot pass for processing time, and the broker,
// which refuses timestamps more than an hour ahead, takes it), with 0-6
// fraction digits.
func (g *gen) timestampText() string {
	year := g.between(1971, 2019)
	t := time.Date(year, time.Month(g.between(1, 12)), g.between(1, 28), g.intn(24), g.intn(60), g.intn(60), g.intn(1_000_000)*1000, time.UTC)
	switch g.intn(4) {
	case 0:
		return t.Format("2006-01-02 15:04:05")
	case 1:
		return t.Format("2006-01-02 15:04:05.000")
	case 2:
		return t.Format("2006-01-02 15:04:05.000000")
	default:
		return t.Format("2006-01-02 15:04:05.999999")
	}
}

// Generators of one column value in PostgreSQL text form; nil is NULL.
type valueGen func(g *gen) *string

func sp(s string) *string { return &s }

func nullable(p float64, v valueGen) valueGen {
	return func(g *gen) *string {
		if g.chance(p) {
			return nil
		}
		return v(g)
	}
}

// nonNull draws from v until it gives a value.
func nonNull(v valueGen) valueGen {
	return func(g *gen) *string {
		for {
			if s := v(g); s != nil {
				return s
			}
		}
	}
}

func oneOf(xs ...string) valueGen { return func(g *gen) *string { return sp(g.pick(xs...)) } }

var (
	genUUID  valueGen = func(g *gen) *string { return sp(g.uuid()) }
	genSeq   valueGen = func(g *gen) *string { return sp(strconv.FormatInt(g.next(), 10)) }
	genKey   valueGen = func(g *gen) *string { return sp(g.keyText()) }
	genType  valueGen = func(g *gen) *string { return sp(g.pick(eventTypes...)) }
	genRoute valueGen = oneOf(routeValues...)
	genTS    valueGen = func(g *gen) *string { return sp(g.timestampText()) }
	genText  valueGen = func(g *gen) *string { return sp(g.text(g.between(0, 30))) }
	genInt2  valueGen = func(g *gen) *string {
		return sp(g.pick("0", "-32768", "32767", strconv.Itoa(g.between(-500, 500))))
	}
	genInt4 valueGen = func(g *gen) *string {
		return sp(g.pick("0", "-2147483648", "2147483647", strconv.Itoa(g.between(-100000, 100000))))
	}
	genInt8 valueGen = func(g *gen) *string {
		return sp(g.pick("0", "-9223372036854775808", "9223372036854775807", strconv.FormatInt(g.r.Int64()-g.r.Int64()/2, 10)))
	}
	genBool    valueGen = oneOf("true", "false")
	genNumeric valueGen = func(g *gen) *string { // numeric(12,3)
		return sp(g.pick("0", "1.5", "-123456789.123", "999999999.999", "0.001", "-0.5", strconv.FormatFloat(g.r.NormFloat64()*1e4, 'f', g.between(0, 3), 64)))
	}
	genNumericAny valueGen = func(g *gen) *string { // unconstrained numeric
		return sp(g.pick("0", "1.50", "-1e-10", "123456789012345678901234567890.123456789", "1e20", "0.000100", strconv.FormatFloat(g.r.NormFloat64()*1e4, 'f', g.between(0, 8), 64)))
	}
	genFloat4 valueGen = func(g *gen) *string {
		return sp(g.pick("0", "-0", "1.5", "0.1", "3.4028235e+38", "1e-45", "NaN", "Infinity", "-Infinity", "1e10", "123456.7", "1e-5",
			strconv.FormatFloat(float64(float32(g.r.NormFloat64()*1e3)), 'g', -1, 32)))
	}
	genFloat8 valueGen = func(g *gen) *string {
		return sp(g.pick("0", "-0", "0.1", "100", "1e21", "1e-7", "1.7976931348623157e+308", "5e-324", "NaN", "-Infinity", "123456789.123", "1e7", "0.001",
			strconv.FormatFloat(g.r.NormFloat64()*1e6, 'g', -1, 64)))
	}
	// genTSAny adds infinities and far dates, for columns that are not the record timestamp.
	genTSAny valueGen = func(g *gen) *string {
		if g.chance(0.2) {
			return sp(g.pick("infinity", "-infinity", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "1969-12-31 23:59:59.5"))
		}
		return sp(g.timestampText())
	}
	genDate valueGen = func(g *gen) *string {
		return sp(g.pick("0001-01-01", "1969-12-31", "1970-01-01", "2024-02-29", "9999-12-31", "infinity", "-infinity",
			time.Date(g.between(1900, 2100), time.Month(g.between(1, 12)), g.between(1, 28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")))
	}
	genTSTZ valueGen = func(g *gen) *string {
		return sp(g.pick("2020-01-01 00:00:00+00", "1999-12-31 23:59:59.123456+05:30", "1969-12-31 23:59:59.5-08", "2038-01-19 03:14:08.100000+00",
			"infinity", "-infinity", "0001-01-01 00:00:00+00", "2000-06-30 12:00:00.000001+00",
			g.timestampText()+g.pick("+00", "+01", "-03:30", "+14")))
	}
	genChar  valueGen = func(g *gen) *string { return sp(g.pick("ab", "", "abcdefgh", "é中", "x y")) }
	genXML   valueGen = oneOf("<a>1</a>", `<note lang="é">Hi &amp; bye</note>`, "<e/>", "text only")
	genJSONB valueGen = func(g *gen) *string { return sp(g.jsonDoc(jsonOpts{}, g.between(5, 80))) }
	genBytea valueGen = func(g *gen) *string { return sp(g.bytea(g.between(0, 24))) }
)
