// Package javaregex runs java.util.regex patterns on Go's regexp engine, for the places where Kafka Connect and
// Debezium match configuration-supplied patterns against record data: RegexRouter (Matcher.matches() to decide,
// then Matcher.replaceFirst with a Java replacement string) and Debezium's include/exclude lists.
//
// Compile translates a Java pattern into an RE2 pattern with the same meaning: Java's '.' (which excludes \n, \r,
// U+0085, U+2028 and U+2029), \s (which includes \x0B), \h, \v, the ASCII-only CASE_INSENSITIVE flag, UNIX_LINES,
// DOTALL, COMMENTS, inline flag groups with Java's scoping, named groups, \Q..\E, octal, \x, \u (with surrogate
// pairs) and \c escapes, POSIX and Unicode property classes. Constructs RE2 cannot express (backreferences,
// lookaround, atomic groups, possessive quantifiers, class union/intersection, \G, \R, \X, UNICODE_CASE,
// UNICODE_CHARACTER_CLASS) are rejected with an error rather than approximated.
//
// A few constructs depend on line terminators in a way RE2 cannot follow exactly ('$' and \Z, which Java also lets
// match before a final line terminator; '^' and '$' in MULTILINE mode, which Java applies to \r, U+0085, U+2028 and
// U+2029 too; \b and \B next to non-ASCII text). Patterns using them compile, and matching an input that contains
// the characters concerned returns ErrInexact instead of a possibly different answer.
package javaregex

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Flags are java.util.regex.Pattern compile flags.
type Flags uint32

// The Java flags this package understands (same bit values as java.util.regex.Pattern).
const (
	UnixLines       Flags = 0x01
	CaseInsensitive Flags = 0x02
	Comments        Flags = 0x04
	Multiline       Flags = 0x08
	Dotall          Flags = 0x20
	unicodeCase     Flags = 0x40
	unicodeClass    Flags = 0x100
)

// ErrInexact is returned when an input contains characters for which the translated pattern might answer
// differently from Java (see the package documentation).
var ErrInexact = errors.New("javaregex: the pattern's behaviour on this input depends on Java-only line-terminator or word-boundary rules")

// Regexp is a compiled Java pattern.
type Regexp struct {
	source   string
	search   *regexp.Regexp // unanchored, for find()/replaceFirst
	full     *regexp.Regexp // anchored at both ends, for matches()
	names    map[string]int // Java group names -> group numbers
	groups   int
	lineSens bool // uses $, \Z, or ^/$ under MULTILINE: inputs with line terminators are inexact
	wordSens bool // uses \b or \B: inputs with non-ASCII characters are inexact
}

// String returns the Java source pattern.
func (re *Regexp) String() string { return re.source }

// SyntaxError is a pattern Java would reject (PatternSyntaxException) or this package cannot translate.
type SyntaxError struct {
	Desc    string
	Pattern string
	Index   int
	// Unsupported is true when Java accepts the pattern but it uses a construct Go's engine cannot run.
	Unsupported bool
}

func (e *SyntaxError) Error() string {
	if e.Unsupported {
		return fmt.Sprintf("%s near index %d: %s (supported by Java, not by walrelay's RE2-based matcher)", e.Desc, e.Index, e.Pattern)
	}
	return fmt.Sprintf("%s near index %d\n%s", e.Desc, e.Index, e.Pattern)
}

// MustCompile is Compile that panics on error, for patterns fixed in code.
func MustCompile(pattern string, flags Flags) *Regexp {
	re, err := Compile(pattern, flags)
	if err != nil {
		panic(err)
	}
	return re
}

// Compile translates and compiles a Java pattern with the given initial flags (Pattern.compile(pattern, flags)).
func Compile(pattern string, flags Flags) (*Regexp, error) {
	if flags&(unicodeCase|unicodeClass) != 0 {
		return nil, &SyntaxError{Desc: "UNICODE_CASE and UNICODE_CHARACTER_CLASS are not supported", Pattern: pattern, Unsupported: true}
	}
	t := &translator{src: pattern, names: map[string]int{}}
	goSrc, err := t.translate(flags)
	if err != nil {
		return nil, err
	}
	search, err := regexp.Compile(goSrc)
	if err != nil {
		return nil, &SyntaxError{Desc: "translated pattern rejected by Go: " + err.Error(), Pattern: pattern, Unsupported: true}
	}
	full, err := regexp.Compile(`\A(?:` + goSrc + `)\z`)
	if err != nil {
		return nil, &SyntaxError{Desc: "translated pattern rejected by Go: " + err.Error(), Pattern: pattern, Unsupported: true}
	}
	return &Regexp{source: pattern, search: search, full: full, names: t.names, groups: t.groups, lineSens: t.lineSens, wordSens: t.wordSens}, nil
}

func (re *Regexp) check(input string) error {
	if re.lineSens && strings.ContainsAny(input, "\n\r\u0085\u2028\u2029") {
		return ErrInexact
	}
	if re.wordSens {
		for i := 0; i < len(input); i++ {
			if input[i] >= utf8.RuneSelf {
				return ErrInexact
			}
		}
	}
	return nil
}

// Matches is Matcher.matches(): whether the whole input matches.
func (re *Regexp) Matches(input string) (bool, error) {
	if err := re.check(input); err != nil {
		return false, err
	}
	return re.full.MatchString(input), nil
}

// ReplaceFirst is Matcher.replaceFirst(replacement): the leftmost match (unanchored search) replaced, the rest of
// the input kept.
func (re *Regexp) ReplaceFirst(input string, repl *Replacement) (string, error) {
	if err := re.check(input); err != nil {
		return "", err
	}
	if repl.re != re {
		return "", errors.New("javaregex: replacement was parsed for another pattern")
	}
	loc := re.search.FindStringSubmatchIndex(input)
	if loc == nil {
		return input, nil
	}
	var b strings.Builder
	b.WriteString(input[:loc[0]])
	for _, seg := range repl.segs {
		if seg.group < 0 {
			b.WriteString(seg.lit)
			continue
		}
		if s, e := loc[2*seg.group], loc[2*seg.group+1]; s >= 0 && e >= 0 {
			b.WriteString(input[s:e])
		}
	}
	b.WriteString(input[loc[1]:])
	return b.String(), nil
}

// Replacement is a parsed Java replacement string ($n, ${name}, backslash escapes) bound to one pattern.
type Replacement struct {
	re   *Regexp
	segs []replSeg
}

type replSeg struct {
	lit   string
	group int // -1 for a literal
}

// ParseReplacement parses a replacement string the way Matcher.appendReplacement reads it, checking every group
// reference against re now (Java reports them at the first replacement).
func (re *Regexp) ParseReplacement(s string) (*Replacement, error) {
	r := &Replacement{re: re}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			r.segs = append(r.segs, replSeg{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			i++
			if i >= len(s) {
				return nil, errors.New("character to be escaped is missing")
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			lit.WriteString(s[i : i+size])
			i += size
		case '$':
			i++
			if i >= len(s) {
				return nil, errors.New("Illegal group reference: group index is missing")
			}
			var ref int
			if s[i] == '{' {
				i++
				start := i
				for i < len(s) && isASCIIAlnum(s[i]) {
					i++
				}
				name := s[start:i]
				if name == "" {
					return nil, errors.New("named capturing group has 0 length name")
				}
				if i >= len(s) || s[i] != '}' {
					return nil, errors.New("named capturing group is missing trailing '}'")
				}
				i++
				if name[0] >= '0' && name[0] <= '9' {
					return nil, fmt.Errorf("capturing group name {%s} starts with digit character", name)
				}
				n, ok := re.names[name]
				if !ok {
					return nil, fmt.Errorf("No group with name {%s}", name)
				}
				ref = n
			} else {
				if s[i] < '0' || s[i] > '9' {
					return nil, errors.New("Illegal group reference")
				}
				ref = int(s[i] - '0')
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					next := ref*10 + int(s[i]-'0')
					if next > re.groups {
						break
					}
					ref = next
					i++
				}
				if ref > re.groups {
					return nil, fmt.Errorf("No group %d", ref)
				}
			}
			flush()
			r.segs = append(r.segs, replSeg{group: ref})
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return r, nil
}

func isASCIIAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// ---- translation ----

type translator struct {
	src      string
	pos      int
	out      strings.Builder
	names    map[string]int
	groups   int
	lineSens bool
	wordSens bool
}

func (t *translator) errorf(unsupported bool, format string, args ...any) error {
	return &SyntaxError{Desc: fmt.Sprintf(format, args...), Pattern: t.src, Index: t.pos, Unsupported: unsupported}
}

func (t *translator) translate(flags Flags) (string, error) {
	if err := t.sequence(flags, 0); err != nil {
		return "", err
	}
	if t.pos < len(t.src) { // a ')' without '('
		return "", t.errorf(false, "Unmatched closing ')'")
	}
	return t.out.String(), nil
}

func (t *translator) peek() (rune, int) {
	if t.pos >= len(t.src) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(t.src[t.pos:])
}

// skipComments skips whitespace and #-comments in COMMENTS mode.
func (t *translator) skipComments(flags Flags) {
	if flags&Comments == 0 {
		return
	}
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\x0B' || c == '\f' || c == '\r':
			t.pos++
		case c == '#':
			for t.pos < len(t.src) && !isLineTerm(t.src[t.pos:]) {
				_, size := utf8.DecodeRuneInString(t.src[t.pos:])
				t.pos += size
			}
		default:
			return
		}
	}
}

func isLineTerm(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// sequence translates alternatives until ')' (depth > 0) or the end. flags are the flags in effect; inline flag
// groups change them for the rest of this group, as in Java.
func (t *translator) sequence(flags Flags, depth int) error {
	for {
		t.skipComments(flags)
		if t.pos >= len(t.src) {
			if depth > 0 {
				return t.errorf(false, "Unclosed group")
			}
			return nil
		}
		atomStart := t.out.Len()
		switch c := t.src[t.pos]; c {
		case ')':
			if depth == 0 {
				return t.errorf(false, "Unmatched closing ')'")
			}
			return nil
		case '|':
			t.pos++
			t.out.WriteByte('|')
			continue
		case '(':
			newFlags, isFlagOnly, err := t.group(flags, depth)
			if err != nil {
				return err
			}
			if isFlagOnly {
				flags = newFlags
				continue
			}
		case '[':
			if err := t.class(flags); err != nil {
				return err
			}
		case '.':
			t.pos++
			switch {
			case flags&Dotall != 0:
				t.out.WriteString(`(?s:.)`)
			case flags&UnixLines != 0:
				t.out.WriteString(`[^\n]`)
			default:
				t.out.WriteString(`[^\n\r\x{85}\x{2028}\x{2029}]`)
			}
		case '^':
			t.pos++
			if flags&Multiline != 0 {
				t.lineSens = true
				t.out.WriteString(`(?m:^)`)
			} else {
				t.out.WriteString(`\A`)
			}
			continue
		case '$':
			t.pos++
			t.lineSens = true
			if flags&Multiline != 0 {
				t.out.WriteString(`(?m:$)`)
			} else {
				t.out.WriteString(`\z`)
			}
			continue
		case '*', '+', '?':
			return t.errorf(false, "Dangling meta character '%c'", c)
		case '{':
			return t.errorf(false, "Illegal repetition")
		case '\\':
			start, ok, err := t.escapeOutside(flags)
			if err != nil {
				return err
			}
			if !ok { // a zero-width assertion or an empty \Q\E: nothing to quantify
				continue
			}
			atomStart = start
		default:
			r, size := utf8.DecodeRuneInString(t.src[t.pos:])
			t.pos += size
			t.out.WriteString(literal(r, flags))
		}
		if err := t.quantifier(flags, atomStart); err != nil {
			return err
		}
	}
}

// quantifier translates an optional quantifier after an atom.
func (t *translator) quantifier(flags Flags, atomStart int) error {
	t.skipComments(flags)
	if t.pos >= len(t.src) {
		return nil
	}
	var q string
	switch c := t.src[t.pos]; c {
	case '*', '+', '?':
		q = string(c)
		t.pos++
	case '{':
		end := strings.IndexByte(t.src[t.pos:], '}')
		if end < 0 {
			return t.errorf(false, "Unclosed counted closure")
		}
		body := t.src[t.pos+1 : t.pos+end]
		lo, hi, hasComma := strings.Cut(body, ",")
		if !isDigits(lo) || (hasComma && hi != "" && !isDigits(hi)) {
			return t.errorf(false, "Illegal repetition")
		}
		if hasComma && hi != "" {
			l, _ := strconv.Atoi(lo)
			h, _ := strconv.Atoi(hi)
			if h < l {
				return t.errorf(false, "Illegal repetition range")
			}
		}
		q = "{" + body + "}"
		t.pos += end + 1
	default:
		return nil
	}
	// Wrap the atom: a translated atom can be several Go tokens (a class expansion, a case-folded letter).
	atom := t.out.String()[atomStart:]
	rest := t.out.String()[:atomStart]
	t.out.Reset()
	t.out.WriteString(rest)
	t.out.WriteString("(?:" + atom + ")" + q)
	if t.pos < len(t.src) {
		switch t.src[t.pos] {
		case '?':
			t.out.WriteByte('?')
			t.pos++
		case '+':
			return t.errorf(true, "Possessive quantifier")
		}
	}
	t.skipComments(flags)
	if t.pos < len(t.src) {
		switch t.src[t.pos] {
		case '*', '+', '?':
			return t.errorf(false, "Dangling meta character '%c'", t.src[t.pos])
		case '{':
			return t.errorf(false, "Illegal repetition")
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// group translates a group starting at '('. It returns the new flags when the construct was a flag-only group
// such as "(?i)".
func (t *translator) group(flags Flags, depth int) (Flags, bool, error) {
	t.pos++ // (
	inner := flags
	switch {
	case strings.HasPrefix(t.src[t.pos:], "?:"):
		t.pos += 2
		t.out.WriteString("(?:")
	case strings.HasPrefix(t.src[t.pos:], "?<=") || strings.HasPrefix(t.src[t.pos:], "?<!") ||
		strings.HasPrefix(t.src[t.pos:], "?=") || strings.HasPrefix(t.src[t.pos:], "?!"):
		return 0, false, t.errorf(true, "Lookaround groups are not supported")
	case strings.HasPrefix(t.src[t.pos:], "?>"):
		return 0, false, t.errorf(true, "Atomic groups are not supported")
	case strings.HasPrefix(t.src[t.pos:], "?<"):
		t.pos += 2
		start := t.pos
		for t.pos < len(t.src) && isASCIIAlnum(t.src[t.pos]) {
			t.pos++
		}
		name := t.src[start:t.pos]
		if t.pos >= len(t.src) || t.src[t.pos] != '>' || name == "" {
			return 0, false, t.errorf(false, "named capturing group is missing trailing '>'")
		}
		if name[0] >= '0' && name[0] <= '9' {
			return 0, false, t.errorf(false, "capturing group name {%s} starts with digit character", name)
		}
		if _, dup := t.names[name]; dup {
			return 0, false, t.errorf(false, "Named capturing group <%s> is already defined", name)
		}
		t.pos++
		t.groups++
		t.names[name] = t.groups
		t.out.WriteString("(?P<" + name + ">")
	case strings.HasPrefix(t.src[t.pos:], "?"):
		t.pos++
		on := true
		nf := flags
		for {
			if t.pos >= len(t.src) {
				return 0, false, t.errorf(false, "Unknown inline modifier")
			}
			c := t.src[t.pos]
			t.pos++
			var f Flags
			switch c {
			case 'i':
				f = CaseInsensitive
			case 'd':
				f = UnixLines
			case 'm':
				f = Multiline
			case 's':
				f = Dotall
			case 'x':
				f = Comments
			case 'u':
				f = unicodeCase
			case 'U':
				f = unicodeClass
			case 'c':
				return 0, false, t.errorf(true, "CANON_EQ is not supported")
			case '-':
				on = false
				continue
			case ')':
				if nf&(unicodeCase|unicodeClass) != 0 {
					return 0, false, t.errorf(true, "UNICODE_CASE and UNICODE_CHARACTER_CLASS are not supported")
				}
				return nf, true, nil
			case ':':
				if nf&(unicodeCase|unicodeClass) != 0 {
					return 0, false, t.errorf(true, "UNICODE_CASE and UNICODE_CHARACTER_CLASS are not supported")
				}
				inner = nf
				t.out.WriteString("(?:")
				goto body
			default:
				return 0, false, t.errorf(false, "Unknown inline modifier")
			}
			if on {
				nf |= f
			} else {
				nf &^= f
			}
		}
	default:
		t.groups++
		t.out.WriteString("(")
	}
body:
	if err := t.sequence(inner, depth+1); err != nil {
		return 0, false, err
	}
	t.pos++ // )
	t.out.WriteString(")")
	return flags, false, nil
}

// escapeOutside translates an escape outside a class. It returns where the quantifiable atom it wrote starts, and
// ok=false for zero-width assertions (and an empty \Q\E), which cannot be quantified.
func (t *translator) escapeOutside(flags Flags) (atomStart int, ok bool, err error) {
	t.pos++ // backslash
	if t.pos >= len(t.src) {
		return 0, false, t.errorf(false, "Unexpected internal error")
	}
	switch c := t.src[t.pos]; c {
	case 'b', 'B':
		t.pos++
		if strings.HasPrefix(t.src[t.pos:], "{") {
			return 0, false, t.errorf(true, "\\b{g} is not supported")
		}
		t.wordSens = true
		t.out.WriteString(`\` + string(c))
		return 0, false, nil
	case 'A':
		t.pos++
		t.out.WriteString(`\A`)
		return 0, false, nil
	case 'z':
		t.pos++
		t.out.WriteString(`\z`)
		return 0, false, nil
	case 'Z':
		t.pos++
		t.lineSens = true
		t.out.WriteString(`\z`)
		return 0, false, nil
	case 'G', 'R', 'X':
		return 0, false, t.errorf(true, "\\%c is not supported", c)
	case 'k':
		return 0, false, t.errorf(true, "Backreferences are not supported")
	case 'E':
		// A stray \E is ignored by Java.
		t.pos++
		return 0, false, nil
	case 'Q':
		t.pos++
		quoted := t.src[t.pos:]
		if end := strings.Index(quoted, `\E`); end >= 0 {
			quoted = quoted[:end]
			t.pos += end + 2
		} else {
			t.pos = len(t.src)
		}
		if quoted == "" {
			return 0, false, nil
		}
		// Each quoted character is its own atom in Java: a following quantifier applies to the last one.
		last, size := utf8.DecodeLastRuneInString(quoted)
		for _, r := range quoted[:len(quoted)-size] {
			t.out.WriteString(literal(r, flags))
		}
		start := t.out.Len()
		t.out.WriteString(literal(last, flags))
		return start, true, nil
	}
	start := t.out.Len()
	set, isClass, r, err := t.escapeCommon(flags)
	if err != nil {
		return 0, false, err
	}
	if isClass {
		t.out.WriteString(set.goClass())
	} else {
		t.out.WriteString(literal(r, flags))
	}
	return start, true, nil
}

// escapeCommon translates escapes valid both inside and outside classes; t.pos is at the character after the
// backslash. It returns either a class (isClass) or a single code point.
func (t *translator) escapeCommon(flags Flags) (set *charSet, isClass bool, r rune, err error) {
	c := t.src[t.pos]
	switch c {
	case 't':
		t.pos++
		return nil, false, '\t', nil
	case 'n':
		t.pos++
		return nil, false, '\n', nil
	case 'r':
		t.pos++
		return nil, false, '\r', nil
	case 'f':
		t.pos++
		return nil, false, '\f', nil
	case 'a':
		t.pos++
		return nil, false, '\a', nil
	case 'e':
		t.pos++
		return nil, false, 0x1B, nil
	case 'c':
		t.pos++
		if t.pos >= len(t.src) {
			return nil, false, 0, t.errorf(false, "Illegal control escape sequence")
		}
		x := rune(t.src[t.pos])
		t.pos++
		return nil, false, x ^ 64, nil
	case '0':
		t.pos++
		v, n := 0, 0
		for n < 3 && t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '7' {
			nv := v*8 + int(t.src[t.pos]-'0')
			if nv > 0377 {
				break
			}
			v = nv
			n++
			t.pos++
		}
		if n == 0 {
			return nil, false, 0, t.errorf(false, "Illegal octal escape sequence")
		}
		return nil, false, rune(v), nil
	case 'x':
		t.pos++
		if strings.HasPrefix(t.src[t.pos:], "{") {
			end := strings.IndexByte(t.src[t.pos:], '}')
			if end < 0 {
				return nil, false, 0, t.errorf(false, "Unclosed hexadecimal escape sequence")
			}
			v, perr := strconv.ParseUint(t.src[t.pos+1:t.pos+end], 16, 32)
			if perr != nil || v > unicode.MaxRune || end == 1 {
				return nil, false, 0, t.errorf(false, "Illegal hexadecimal escape sequence")
			}
			t.pos += end + 1
			return nil, false, rune(v), nil
		}
		if t.pos+2 > len(t.src) {
			return nil, false, 0, t.errorf(false, "Illegal hexadecimal escape sequence")
		}
		v, perr := strconv.ParseUint(t.src[t.pos:t.pos+2], 16, 8)
		if perr != nil {
			return nil, false, 0, t.errorf(false, "Illegal hexadecimal escape sequence")
		}
		t.pos += 2
		return nil, false, rune(v), nil
	case 'u':
		t.pos++
		u, ok := t.hex4()
		if !ok {
			return nil, false, 0, t.errorf(false, "Illegal Unicode escape sequence")
		}
		if u >= 0xD800 && u <= 0xDBFF && strings.HasPrefix(t.src[t.pos:], `\u`) {
			save := t.pos
			t.pos += 2
			if lo, ok := t.hex4(); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				return nil, false, 0x10000 + (u-0xD800)<<10 + (lo - 0xDC00), nil
			}
			t.pos = save
		}
		if u >= 0xD800 && u <= 0xDFFF {
			return nil, false, 0, t.errorf(true, "Lone surrogate escapes are not supported")
		}
		return nil, false, u, nil
	case 'N':
		return nil, false, 0, t.errorf(true, "\\N{name} is not supported")
	case 'd', 'D', 'w', 'W', 's', 'S', 'h', 'H', 'v', 'V':
		t.pos++
		if flags&unicodeClass != 0 {
			return nil, false, 0, t.errorf(true, "UNICODE_CHARACTER_CLASS is not supported")
		}
		return predefined(c), true, 0, nil
	case 'p', 'P':
		t.pos++
		s, perr := t.property(c == 'P', flags)
		if perr != nil {
			return nil, false, 0, perr
		}
		return s, true, 0, nil
	}
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
		return nil, false, 0, t.errorf(false, "Illegal/unsupported escape sequence")
	}
	if c >= '1' && c <= '9' {
		return nil, false, 0, t.errorf(true, "Backreferences are not supported")
	}
	rr, size := utf8.DecodeRuneInString(t.src[t.pos:])
	t.pos += size
	return nil, false, rr, nil
}

func (t *translator) hex4() (rune, bool) {
	if t.pos+4 > len(t.src) {
		return 0, false
	}
	v, err := strconv.ParseUint(t.src[t.pos:t.pos+4], 16, 16)
	if err != nil {
		return 0, false
	}
	t.pos += 4
	return rune(v), true
}

// property parses the name after \p or \P.
func (t *translator) property(negate bool, flags Flags) (*charSet, error) {
	var name string
	if strings.HasPrefix(t.src[t.pos:], "{") {
		end := strings.IndexByte(t.src[t.pos:], '}')
		if end < 0 {
			return nil, t.errorf(false, "Unclosed character family")
		}
		name = t.src[t.pos+1 : t.pos+end]
		t.pos += end + 1
	} else {
		if t.pos >= len(t.src) {
			return nil, t.errorf(false, "Illegal character family")
		}
		name = t.src[t.pos : t.pos+1]
		t.pos++
	}
	if flags&CaseInsensitive != 0 {
		return nil, t.errorf(true, "\\p{%s} under CASE_INSENSITIVE is not supported", name)
	}
	s, ok := propertySet(name)
	if !ok {
		return nil, t.errorf(false, "Unknown character property name {%s}", name)
	}
	if negate {
		s = s.negated()
	}
	return s, nil
}

// class translates a bracket expression.
func (t *translator) class(flags Flags) error {
	t.pos++ // [
	set := &charSet{}
	negate := false
	if t.pos < len(t.src) && t.src[t.pos] == '^' {
		negate = true
		t.pos++
	}
	first := true
	for {
		t.skipComments(flags)
		if t.pos >= len(t.src) {
			return t.errorf(false, "Unclosed character class")
		}
		c := t.src[t.pos]
		if c == ']' {
			if first {
				return t.errorf(true, "A ']' at the start of a class is not supported")
			}
			t.pos++
			break
		}
		if c == '[' {
			return t.errorf(true, "Nested character classes (union) are not supported")
		}
		if c == '&' && strings.HasPrefix(t.src[t.pos:], "&&") {
			return t.errorf(true, "Character class intersection is not supported")
		}
		first = false
		lo, isClass, cls, err := t.classAtom(flags)
		if err != nil {
			return err
		}
		if isClass {
			set.addSet(cls)
			continue
		}
		// A range?
		t.skipComments(flags)
		if t.pos+1 < len(t.src) && t.src[t.pos] == '-' && t.src[t.pos+1] != ']' {
			t.pos++
			t.skipComments(flags)
			if t.pos < len(t.src) && t.src[t.pos] == '[' {
				return t.errorf(true, "Nested character classes (union) are not supported")
			}
			hi, hiClass, _, err := t.classAtom(flags)
			if err != nil {
				return err
			}
			if hiClass {
				return t.errorf(false, "Illegal character range")
			}
			if hi < lo {
				return t.errorf(false, "Illegal character range")
			}
			set.addRange(lo, hi, flags&CaseInsensitive != 0)
			continue
		}
		set.addRange(lo, lo, flags&CaseInsensitive != 0)
	}
	if negate {
		set = set.negated()
	}
	t.out.WriteString(set.goClass())
	return nil
}

// classAtom reads one class member: a code point or a predefined class.
func (t *translator) classAtom(flags Flags) (rune, bool, *charSet, error) {
	if t.src[t.pos] == '\\' {
		t.pos++
		if t.pos >= len(t.src) {
			return 0, false, nil, t.errorf(false, "Unclosed character class")
		}
		switch c := t.src[t.pos]; c {
		case 'b', 'B', 'A', 'z', 'Z', 'G', 'R', 'X', 'k', 'E':
			return 0, false, nil, t.errorf(false, "Illegal/unsupported escape sequence")
		case 'Q':
			return 0, false, nil, t.errorf(true, "\\Q inside a character class is not supported")
		}
		set, isClass, r, err := t.escapeCommon(flags)
		if err != nil {
			return 0, false, nil, err
		}
		return r, isClass, set, nil
	}
	r, size := utf8.DecodeRuneInString(t.src[t.pos:])
	t.pos += size
	return r, false, nil, nil
}

// literal renders one code point as a Go regexp atom, applying Java's ASCII-only case folding when asked.
func literal(r rune, flags Flags) string {
	if flags&CaseInsensitive != 0 && r < utf8.RuneSelf && unicode.IsLetter(r) {
		lower, upper := unicode.ToLower(r), unicode.ToUpper(r)
		return fmt.Sprintf(`[\x{%x}\x{%x}]`, lower, upper)
	}
	return fmt.Sprintf(`\x{%x}`, r)
}

// ---- character sets ----

// charSet is a set of code points as sorted, non-overlapping ranges, plus Go class escapes we keep symbolic
// (Unicode property tables) so the output stays small.
type charSet struct {
	ranges []rng
	named  []string // Go escapes such as `\p{Greek}`; only in non-negated sets
	neg    bool     // the named part is negated as a whole (only used for a lone negated property)
}

type rng struct{ lo, hi rune }

func (s *charSet) addRange(lo, hi rune, fold bool) {
	s.ranges = append(s.ranges, rng{lo, hi})
	if fold {
		// Java's ASCII CASE_INSENSITIVE: a character matches if it or its ASCII other-case is in the range.
		for c := max(lo, 'A'); c <= min(hi, 'Z'); c++ {
			s.ranges = append(s.ranges, rng{c + 32, c + 32})
		}
		for c := max(lo, 'a'); c <= min(hi, 'z'); c++ {
			s.ranges = append(s.ranges, rng{c - 32, c - 32})
		}
	}
	s.normalize()
}

func (s *charSet) addSet(o *charSet) {
	if o.neg || len(o.named) > 0 {
		if o.neg {
			// A negated Unicode property inside a class: expand it to ranges.
			s.ranges = append(s.ranges, o.expand()...)
		} else {
			s.named = append(s.named, o.named...)
			s.ranges = append(s.ranges, o.ranges...)
		}
	} else {
		s.ranges = append(s.ranges, o.ranges...)
	}
	s.normalize()
}

func (s *charSet) normalize() {
	slices.SortFunc(s.ranges, func(a, b rng) int { return int(a.lo - b.lo) })
	out := s.ranges[:0]
	for _, r := range s.ranges {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	s.ranges = out
}

// expand returns the ranges of the set, resolving named tables.
func (s *charSet) expand() []rng {
	var all []rng
	all = append(all, s.ranges...)
	for _, n := range s.named {
		tab := goTable(n)
		for _, r16 := range tab.R16 {
			for c := rune(r16.Lo); c <= rune(r16.Hi); c += rune(r16.Stride) {
				all = append(all, rng{c, c})
			}
		}
		for _, r32 := range tab.R32 {
			for c := rune(r32.Lo); c <= rune(r32.Hi); c += rune(r32.Stride) {
				all = append(all, rng{c, c})
			}
		}
	}
	tmp := &charSet{ranges: all}
	tmp.normalize()
	if s.neg {
		return complement(tmp.ranges)
	}
	return tmp.ranges
}

func complement(rs []rng) []rng {
	var out []rng
	next := rune(0)
	for _, r := range rs {
		if r.lo > next {
			out = append(out, rng{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, rng{next, unicode.MaxRune})
	}
	return out
}

func (s *charSet) negated() *charSet {
	if len(s.named) > 0 && len(s.ranges) == 0 && !s.neg && len(s.named) == 1 {
		return &charSet{named: s.named, neg: true}
	}
	return &charSet{ranges: complement(s.expand())}
}

// goClass renders the set as a Go bracket expression.
func (s *charSet) goClass() string {
	var b strings.Builder
	if s.neg {
		b.WriteString("[^")
	} else {
		b.WriteString("[")
	}
	for _, n := range s.named {
		b.WriteString(n)
	}
	for _, r := range s.ranges {
		if r.lo == r.hi {
			fmt.Fprintf(&b, `\x{%x}`, r.lo)
		} else {
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, r.lo, r.hi)
		}
	}
	if len(s.named) == 0 && len(s.ranges) == 0 {
		// Empty set: match nothing.
		if s.neg {
			return `(?s:.)`
		}
		return `[^\x{0}-\x{10ffff}]`
	}
	b.WriteString("]")
	return b.String()
}

func ranges(pairs ...rune) *charSet {
	s := &charSet{}
	for i := 0; i < len(pairs); i += 2 {
		s.ranges = append(s.ranges, rng{pairs[i], pairs[i+1]})
	}
	s.normalize()
	return s
}

// predefined returns Java's predefined classes (ASCII versions, as without UNICODE_CHARACTER_CLASS).
func predefined(c byte) *charSet {
	var s *charSet
	switch c | 0x20 {
	case 'd':
		s = ranges('0', '9')
	case 'w':
		s = ranges('0', '9', 'A', 'Z', '_', '_', 'a', 'z')
	case 's':
		s = ranges('\t', '\r', ' ', ' ') // \t \n \x0B \f \r and space
	case 'h':
		s = ranges(' ', ' ', '\t', '\t', 0xA0, 0xA0, 0x1680, 0x1680, 0x180E, 0x180E, 0x2000, 0x200A, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000)
	case 'v':
		s = ranges('\n', '\r', 0x85, 0x85, 0x2028, 0x2029)
	}
	if c >= 'A' && c <= 'Z' {
		return s.negated()
	}
	return s
}

// propertySet resolves a \p{name}.
func propertySet(name string) (*charSet, bool) {
	switch name {
	case "Lower":
		return ranges('a', 'z'), true
	case "Upper":
		return ranges('A', 'Z'), true
	case "ASCII":
		return ranges(0, 0x7F), true
	case "Alpha":
		return ranges('A', 'Z', 'a', 'z'), true
	case "Digit":
		return ranges('0', '9'), true
	case "Alnum":
		return ranges('0', '9', 'A', 'Z', 'a', 'z'), true
	case "Punct":
		return ranges('!', '/', ':', '@', '[', '`', '{', '~'), true
	case "Graph":
		return ranges('!', '~'), true
	case "Print":
		return ranges(' ', '~'), true
	case "Blank":
		return ranges(' ', ' ', '\t', '\t'), true
	case "Cntrl":
		return ranges(0, 0x1F, 0x7F, 0x7F), true
	case "XDigit":
		return ranges('0', '9', 'A', 'F', 'a', 'f'), true
	case "Space":
		return ranges('\t', '\r', ' ', ' '), true
	}
	n := name
	for _, p := range []string{"Is", "general_category=", "gc=", "script=", "sc="} {
		if strings.HasPrefix(n, p) {
			n = n[len(p):]
			break
		}
	}
	if n == "L&" || n == "LC" {
		return &charSet{named: []string{`\p{Lu}`, `\p{Ll}`, `\p{Lt}`}}, true
	}
	if _, ok := unicode.Categories[n]; ok {
		return &charSet{named: []string{`\p{` + n + `}`}}, true
	}
	if _, ok := unicode.Scripts[n]; ok {
		return &charSet{named: []string{`\p{` + n + `}`}}, true
	}
	return nil, false
}

func goTable(escape string) *unicode.RangeTable {
	n := strings.TrimSuffix(strings.TrimPrefix(escape, `\p{`), "}")
	if t, ok := unicode.Categories[n]; ok {
		return t
	}
	return unicode.Scripts[n]
}
