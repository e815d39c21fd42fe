// Package jackson reproduces the two pieces of Jackson (com.fasterxml.jackson 2.15+) that decide Kafka Connect
// bytes in an outbox pipeline:
//
//   - Parse: ObjectMapper.readTree(String) with default features, as Debezium's EventRouter runs it for
//     table.expand.json.payload. Numbers become int (fits int32), long (fits int64), big integer, or double; object
//     members keep their first position when a key repeats and take the last value; anything after the root value
//     is ignored; the StreamReadConstraints defaults (depth 1000, number length 1000, string length 20,000,000,
//     name length 50,000) are enforced.
//   - AppendString: UTF8JsonGenerator string escaping as Kafka's JsonSerializer produces it: '"' and '\\' escaped,
//     \b \t \n \f \r in short form, other C0 controls as \u00XX with upper-case hex, characters outside the BMP as
//     an escaped surrogate pair (\uD83D\uDE00), everything else (including '/', '<', '&', U+2028) raw UTF-8.
//
// Strings are Go strings holding a Java string's UTF-8 form; a lone surrogate from a "\uD800" escape is kept as
// WTF-8 (see package javafmt).
package jackson

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// Kind is a Jackson JsonNodeType.
type Kind uint8

// The node kinds Parse produces.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// String returns the JsonNodeType name Jackson prints.
func (k Kind) String() string {
	switch k {
	case Null:
		return "NULL"
	case Bool:
		return "BOOLEAN"
	case Number:
		return "NUMBER"
	case String:
		return "STRING"
	case Array:
		return "ARRAY"
	case Object:
		return "OBJECT"
	}
	return "UNKNOWN"
}

// NumberType says which Jackson numeric node a JSON number became.
type NumberType uint8

// Numeric node types: IntNode, LongNode, BigIntegerNode, DoubleNode.
const (
	Int NumberType = iota + 1
	Long
	BigInt
	Double
)

// Member is one object member.
type Member struct {
	Name  string
	Value *Node
}

// Node is one JsonNode of a parsed tree.
type Node struct {
	Kind    Kind
	Bool    bool
	Str     string // String
	NumType NumberType
	Int     int64    // Int and Long
	Big     *big.Int // BigInt
	Float   float64  // Double
	Members []Member // Object, in Jackson's iteration order
	Elems   []*Node  // Array
}

// Get returns the member named name, or nil.
func (n *Node) Get(name string) *Node {
	for i := range n.Members {
		if n.Members[i].Name == name {
			return n.Members[i].Value
		}
	}
	return nil
}

// Has reports whether an object node has a member named name (JsonNode.has).
func (n *Node) Has(name string) bool {
	return n.Kind == Object && n.Get(name) != nil
}

// AsText is JsonNode.asText(): the text of a scalar, "" for containers and "null" for null.
func (n *Node) AsText() string {
	switch n.Kind {
	case Null:
		return "null"
	case Bool:
		return strconv.FormatBool(n.Bool)
	case String:
		return n.Str
	case Number:
		switch n.NumType {
		case Int, Long:
			return strconv.FormatInt(n.Int, 10)
		case BigInt:
			return n.Big.String()
		default:
			return javafmt.Double(n.Float)
		}
	}
	return ""
}

// Limits are Jackson's StreamReadConstraints defaults (2.16+).
const (
	MaxNestingDepth  = 1000
	MaxNumberLength  = 1000
	MaxStringLength  = 20_000_000
	MaxNameLength    = 50_000
	errPrefixSyntax  = "com.fasterxml.jackson.core.JsonParseException: "
	errPrefixLimits  = "com.fasterxml.jackson.core.exc.StreamConstraintsException: "
	errPrefixEOFRoot = "com.fasterxml.jackson.core.io.JsonEOFException: "
)

// Parse parses the first JSON value of s like ObjectMapper.readTree(String) and ignores whatever follows it.
func Parse(s string) (*Node, error) {
	p := &parser{s: s}
	p.skipWS()
	if p.err != nil {
		return nil, p.err
	}
	if p.i >= len(p.s) {
		return nil, errors.New("com.fasterxml.jackson.databind.exc.MismatchedInputException: No content to map due to end-of-input")
	}
	n := p.value(0)
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

type parser struct {
	s   string
	i   int
	err error
}

func (p *parser) fail(prefix, format string, args ...any) {
	if p.err == nil {
		p.err = errors.New(prefix + fmt.Sprintf(format, args...))
	}
}

func (p *parser) skipWS() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			if c < ' ' {
				p.fail(errPrefixSyntax, "Illegal character ((CTRL-CHAR, code %d)): only regular white space (\\r, \\n, \\t) is allowed between tokens", c)
			}
			return
		}
	}
}

func (p *parser) value(depth int) *Node {
	if p.i >= len(p.s) {
		p.fail(errPrefixEOFRoot, "Unexpected end-of-input")
		return nil
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		p.i++
		s, ok := p.str(MaxStringLength, "String value length")
		if !ok {
			return nil
		}
		return &Node{Kind: String, Str: s}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", &Node{Kind: Bool, Bool: true})
	case c == 'f':
		return p.literal("false", &Node{Kind: Bool})
	case c == 'n':
		return p.literal("null", &Node{Kind: Null})
	default:
		p.fail(errPrefixSyntax, "Unexpected character (%s): expected a valid value", describe(p.s[p.i:]))
		return nil
	}
}

func describe(rest string) string {
	r, _ := utf8.DecodeRuneInString(rest)
	if r < ' ' {
		return fmt.Sprintf("CTRL-CHAR, code %d", r)
	}
	return fmt.Sprintf("'%c' (code %d)", r, r)
}

func (p *parser) literal(word string, n *Node) *Node {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		end := p.i + len(word)
		// Jackson rejects a keyword glued to identifier characters ("truex").
		if end < len(p.s) && isIdentChar(p.s[end]) {
			p.fail(errPrefixSyntax, "Unrecognized token '%s': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", word+string(p.s[end]))
			return nil
		}
		p.i = end
		return n
	}
	p.fail(errPrefixSyntax, "Unrecognized token: was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')")
	return nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func (p *parser) object(depth int) *Node {
	if depth > MaxNestingDepth {
		p.fail(errPrefixLimits, "Document nesting depth (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNestingDepth()`)", depth, MaxNestingDepth)
		return nil
	}
	p.i++ // {
	n := &Node{Kind: Object}
	p.skipWS()
	if p.err != nil {
		return nil
	}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return n
	}
	for {
		if p.i >= len(p.s) {
			p.fail(errPrefixEOFRoot, "Unexpected end-of-input: expected close marker for Object")
			return nil
		}
		if p.s[p.i] != '"' {
			p.fail(errPrefixSyntax, "Unexpected character (%s): was expecting double-quote to start field name", describe(p.s[p.i:]))
			return nil
		}
		p.i++
		name, ok := p.str(MaxNameLength, "Name length")
		if !ok {
			return nil
		}
		p.skipWS()
		if p.err != nil {
			return nil
		}
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			if p.i >= len(p.s) {
				p.fail(errPrefixEOFRoot, "Unexpected end-of-input")
			} else {
				p.fail(errPrefixSyntax, "Unexpected character (%s): was expecting a colon to separate field name and value", describe(p.s[p.i:]))
			}
			return nil
		}
		p.i++
		p.skipWS()
		if p.err != nil {
			return nil
		}
		v := p.value(depth)
		if p.err != nil {
			return nil
		}
		replaced := false
		for k := range n.Members {
			if n.Members[k].Name == name {
				n.Members[k].Value = v // LinkedHashMap.put on an existing key: position kept, value replaced
				replaced = true
				break
			}
		}
		if !replaced {
			n.Members = append(n.Members, Member{Name: name, Value: v})
		}
		p.skipWS()
		if p.err != nil {
			return nil
		}
		if p.i >= len(p.s) {
			p.fail(errPrefixEOFRoot, "Unexpected end-of-input: expected close marker for Object")
			return nil
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipWS()
			if p.err != nil {
				return nil
			}
		case '}':
			p.i++
			return n
		default:
			p.fail(errPrefixSyntax, "Unexpected character (%s): was expecting comma to separate Object entries", describe(p.s[p.i:]))
			return nil
		}
	}
}

func (p *parser) array(depth int) *Node {
	if depth > MaxNestingDepth {
		p.fail(errPrefixLimits, "Document nesting depth (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNestingDepth()`)", depth, MaxNestingDepth)
		return nil
	}
	p.i++ // [
	n := &Node{Kind: Array, Elems: []*Node{}}
	p.skipWS()
	if p.err != nil {
		return nil
	}
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return n
	}
	for {
		v := p.value(depth)
		if p.err != nil {
			return nil
		}
		n.Elems = append(n.Elems, v)
		p.skipWS()
		if p.err != nil {
			return nil
		}
		if p.i >= len(p.s) {
			p.fail(errPrefixEOFRoot, "Unexpected end-of-input: expected close marker for Array")
			return nil
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.skipWS()
			if p.err != nil {
				return nil
			}
		case ']':
			p.i++
			return n
		default:
			p.fail(errPrefixSyntax, "Unexpected character (%s): was expecting comma to separate Array entries", describe(p.s[p.i:]))
			return nil
		}
	}
}

// str reads a string body after the opening quote. limit is in UTF-16 code units.
func (p *parser) str(limit int, what string) (string, bool) {
	var out []byte
	units := 0
	start := p.i
	for {
		if p.i >= len(p.s) {
			p.fail(errPrefixEOFRoot, "Unexpected end-of-input: was expecting closing quote for a string value")
			return "", false
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if out == nil {
				out = []byte(p.s[start : p.i-1])
			}
			if units > limit {
				p.fail(errPrefixLimits, "%s (%d) exceeds the maximum allowed (%d)", what, units, limit)
				return "", false
			}
			return string(out), true
		case c == '\\':
			if out == nil {
				out = append([]byte{}, p.s[start:p.i]...)
			}
			p.i++
			if p.i >= len(p.s) {
				p.fail(errPrefixEOFRoot, "Unexpected end-of-input in character escape sequence")
				return "", false
			}
			e := p.s[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				u, ok := p.hex4()
				if !ok {
					return "", false
				}
				if u >= 0xD800 && u <= 0xDBFF && p.i+6 <= len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					lo, ok := p.hex4()
					if ok && lo >= 0xDC00 && lo <= 0xDFFF {
						out = utf8.AppendRune(out, rune(0x10000+(int(u)-0xD800)<<10+(int(lo)-0xDC00)))
						units += 2
						continue
					}
					p.err = nil
					p.i = save
				}
				if u >= 0xD800 && u <= 0xDFFF {
					out = javafmt.AppendSurrogate(out, u)
				} else {
					out = utf8.AppendRune(out, rune(u))
				}
			default:
				p.fail(errPrefixSyntax, "Unrecognized character escape %s", describe(p.s[p.i-1:]))
				return "", false
			}
			units++
		case c < ' ':
			p.fail(errPrefixSyntax, "Illegal unquoted character ((CTRL-CHAR, code %d)): has to be escaped using backslash to be included in string value", c)
			return "", false
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if out != nil {
				out = append(out, p.s[p.i:p.i+size]...)
			}
			p.i += size
			if r >= 0x10000 {
				units += 2
			} else {
				units++
			}
		}
	}
}

func (p *parser) hex4() (uint16, bool) {
	if p.i+4 > len(p.s) {
		p.fail(errPrefixEOFRoot, "Unexpected end-of-input in character escape sequence")
		return 0, false
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 16)
	if err != nil {
		p.fail(errPrefixSyntax, "Unexpected character (%s): expected a hex-digit for character escape sequence", describe(p.s[p.i:]))
		return 0, false
	}
	p.i += 4
	return uint16(v), true
}

func (p *parser) number() *Node {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	intLen := p.i - intStart
	if intLen == 0 {
		if p.i < len(p.s) && p.s[p.i] == 'I' {
			p.fail(errPrefixSyntax, "Non-standard token '-Infinity': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow")
		} else {
			p.fail(errPrefixSyntax, "Unexpected character (%s) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value", describeAt(p.s, p.i))
		}
		return nil
	}
	if intLen > 1 && p.s[intStart] == '0' {
		p.fail(errPrefixSyntax, "Invalid numeric value: Leading zeroes not allowed")
		return nil
	}
	isFloat := false
	if p.i < len(p.s) && p.s[p.i] == '.' {
		isFloat = true
		p.i++
		fs := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == fs {
			p.fail(errPrefixSyntax, "Unexpected character (%s) in numeric value: Decimal point not followed by a digit", describeAt(p.s, p.i))
			return nil
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		isFloat = true
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		es := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == es {
			p.fail(errPrefixSyntax, "Unexpected character (%s) in numeric value: Exponent indicator not followed by a digit", describeAt(p.s, p.i))
			return nil
		}
	}
	text := p.s[start:p.i]
	if len(text) > MaxNumberLength {
		p.fail(errPrefixLimits, "Number value length (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNumberLength()`)", len(text), MaxNumberLength)
		return nil
	}
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			p.fail(errPrefixSyntax, "Malformed numeric value (%s)", text)
			return nil
		}
		if errors.Is(err, strconv.ErrRange) && !math.IsInf(f, 0) && f != 0 {
			p.fail(errPrefixSyntax, "Malformed numeric value (%s)", text)
			return nil
		}
		return &Node{Kind: Number, NumType: Double, Float: f}
	}
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return &Node{Kind: Number, NumType: Int, Int: v}
		}
		return &Node{Kind: Number, NumType: Long, Int: v}
	}
	b, _ := new(big.Int).SetString(text, 10)
	return &Node{Kind: Number, NumType: BigInt, Big: b}
}

func describeAt(s string, i int) string {
	if i >= len(s) {
		return "end-of-input"
	}
	return describe(s[i:])
}

const hexUpper = "0123456789ABCDEF"

// AppendString appends s as a JSON string literal the way Jackson's UTF8JsonGenerator writes it.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= ' ':
				dst = append(dst, c)
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
			}
			i++
			continue
		}
		if javafmt.IsSurrogateAt(s, i) {
			dst = appendEscapedUnit(dst, javafmt.SurrogateAt(s, i))
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendEscapedUnit(dst, uint16(0xD800+(r>>10)))
			dst = appendEscapedUnit(dst, uint16(0xDC00+(r&0x3FF)))
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

func appendEscapedUnit(dst []byte, u uint16) []byte {
	return append(dst, '\\', 'u', hexUpper[u>>12], hexUpper[(u>>8)&0xF], hexUpper[(u>>4)&0xF], hexUpper[u&0xF])
}
