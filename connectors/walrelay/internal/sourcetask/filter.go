package sourcetask

import (
	"fmt"
	"strings"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javaregex"
)

// TableFilter selects the captured tables the way Debezium's
// schema/table include and exclude lists do: comma-separated
// java.util.regex patterns, compiled CASE_INSENSITIVE and matched against
// the whole schema name or the whole "schema.table" name.
type TableFilter struct {
	schemaInclude, schemaExclude []*javaregex.Regexp
	tableInclude, tableExclude   []*javaregex.Regexp
}

// Match reports whether schema.table is captured.
func (f TableFilter) Match(schema, table string) bool {
	if len(f.schemaInclude) > 0 && !anyMatch(f.schemaInclude, schema) {
		return false
	}
	if anyMatch(f.schemaExclude, schema) {
		return false
	}
	full := schema + "." + table
	if len(f.tableInclude) > 0 && !anyMatch(f.tableInclude, full) {
		return false
	}
	return !anyMatch(f.tableExclude, full)
}

// anyMatch reports whether a pattern matches s entirely. A name on which
// the translated pattern could answer differently from Java (line
// terminators in a table name) counts as no match.
func anyMatch(res []*javaregex.Regexp, s string) bool {
	for _, re := range res {
		if ok, err := re.Matches(s); ok && err == nil {
			return true
		}
	}
	return false
}

// compileList compiles a Debezium regex list. Java constructs Go's RE2
// engine cannot run (lookaround, backreferences, possessive quantifiers)
// are reported as errors rather than misread.
func compileList(list string) ([]*javaregex.Regexp, error) {
	var out []*javaregex.Regexp
	for _, p := range splitRegexList(list) {
		re, err := javaregex.Compile(p, javaregex.CaseInsensitive)
		if err != nil {
			return nil, fmt.Errorf("%q is not a regular expression this relay supports: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// splitRegexList splits on commas that are neither escaped (\,) nor inside
// a {m,n} quantifier, a [...] class or a (...) group, and trims the parts.
func splitRegexList(s string) []string {
	var parts []string
	var cur strings.Builder
	depthParen, depthBrace := 0, 0
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if s[i+1] == ',' {
				cur.WriteByte(',')
			} else {
				cur.WriteByte(c)
				cur.WriteByte(s[i+1])
			}
			i++
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depthParen++
		case c == ')':
			depthParen--
		case c == '{':
			depthBrace++
		case c == '}':
			depthBrace--
		case c == ',' && depthParen <= 0 && depthBrace <= 0:
			if p := strings.TrimSpace(cur.String()); p != "" {
				parts = append(parts, p)
			}
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	if p := strings.TrimSpace(cur.String()); p != "" {
		parts = append(parts, p)
	}
	return parts
}
