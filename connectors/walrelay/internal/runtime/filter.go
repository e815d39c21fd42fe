package runtime

import (
	"fmt"
	"regexp"
	"strings"
)

// TableFilter selects the captured tables the way Debezium's
// schema/table include and exclude lists do: comma-separated regular
// expressions, matched case-insensitively against the whole schema name or
// the whole "schema.table" name.
type TableFilter struct {
	schemaInclude, schemaExclude []*regexp.Regexp
	tableInclude, tableExclude   []*regexp.Regexp
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

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// compileList compiles a Debezium regex list. Go's RE2 syntax lacks some
// Java constructs (lookaround, backreferences, possessive quantifiers);
// such patterns are reported as errors rather than misread.
func compileList(list string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range splitRegexList(list) {
		re, err := regexp.Compile(`(?i)^(?:` + p + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%q is not a regular expression this relay supports (RE2 syntax; no lookaround or backreferences): %w", p, err)
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
