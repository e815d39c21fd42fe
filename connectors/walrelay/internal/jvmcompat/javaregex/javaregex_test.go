package javaregex

import (
	"errors"
	"testing"
)

func TestRegexRouterSemantics(t *testing.T) {
	tests := []struct {
		name, pattern, replacement, input string
		matches                           bool
		want                              string // replaceFirst result when matches
	}{
		{"default router", `(?<routedByValue>.*)`, `outbox.event.${routedByValue}`, "order", true, "outbox.event.order"},
		{"empty value", `(?<routedByValue>.*)`, `outbox.event.${routedByValue}`, "", true, "outbox.event."},
		{"lazy group keeps the unmatched tail", `(?<routedByValue>[a-z]+?)`, `${routedByValue}.events`, "order", true, "o.eventsrder"},
		{"leftmost alternative wins in replaceFirst", `(a|ab)`, `$1.events`, "ab", true, "a.eventsb"},
		{"no full match", `(?<routedByValue>order|invoice)`, `domain.${routedByValue}.v1`, "payment", false, ""},
		{"full match", `(?<routedByValue>order|invoice)`, `domain.${routedByValue}.v1`, "invoice", true, "domain.invoice.v1"},
		{"prefix only is not a full match", `order`, `x`, "orders", false, ""},
		{"dot excludes U+2028", `(.*)`, `$1`, "a\u2028b", false, ""},
		{"dot excludes U+0085", `.*`, `x`, "a\u0085b", false, ""},
		{"dot excludes CR", `.*`, `x`, "a\rb", false, ""},
		{"dot includes other controls", `.*`, `x`, "a\x0Bb", true, "x"},
		{"DOTALL dot", `(?s).*`, `x`, "a\nb", true, "x"},
		{"UNIX_LINES dot", `(?d).*`, `x`, "a\rb", true, "x"},
		{"java \\s includes VT", `a\sb`, `x`, "a\x0Bb", true, "x"},
		{"java \\S excludes VT", `a\Sb`, `x`, "a\x0Bb", false, ""},
		{"ascii case-insensitive", `(?i)ORDER`, `x`, "oRdEr", true, "x"},
		{"ascii case-insensitive does not fold kelvin", `(?i)k`, `x`, "\u212A", false, ""},
		{"case-insensitive class", `(?i)[a-c]+`, `x`, "AbC", true, "x"},
		{"case-insensitive negated class", `(?i)[^a]`, `x`, "A", false, ""},
		{"inline flag scoped to its group", `(a(?i)b)B`, `x`, "aBB", true, "x"},
		{"inline flag scoped to its group 2", `(a(?i)b)B`, `x`, "abb", false, ""},
		{"flag group", `(?i:a)b`, `x`, "Ab", true, "x"},
		{"flag group off", `(?i)a(?-i:b)`, `x`, "AB", false, ""},
		{"comments mode", "(?x) a b # comment\n c", `x`, "abc", true, "x"},
		{"quote", `\Q.\E+`, `x`, "...", true, "x"},
		{"quote applies quantifier to last char", `\Qab\E{2}`, `x`, "abb", true, "x"},
		{"octal hex unicode control", `\0101\x42\u0043\x{44}\cA`, `x`, "ABCD\x01", true, "x"},
		{"surrogate pair escape", `\uD83D\uDE00`, `x`, "😀", true, "x"},
		{"unicode property", `\p{Lu}\p{IsL}\p{IsGreek}`, `x`, "Éaα", true, "x"},
		{"posix property", `\p{Alpha}+\p{Digit}`, `x`, "ab1", true, "x"},
		{"negated property in class", `[\P{L}]`, `x`, "1", true, "x"},
		{"horizontal whitespace", `a\hb`, `x`, "a\u00A0b", true, "x"},
		{"counted repetition", `a{2,3}`, `x`, "aaa", true, "x"},
		{"lazy counted repetition", `(a{1,3}?)`, `[$1]`, "aaa", true, "[a]aa"},
		{"literal braces after escape", `a\{`, `x`, "a{", true, "x"},
		{"replacement escapes", `(o)rder`, `\$1\\$1`, "order", true, `$1\o`},
		{"group number greedy up to group count", `(o)rder`, `$12`, "order", true, "o2"},
		{"non-participating group is empty", `(a)|(b)`, `[$1][$2]`, "b", true, "[][b]"},
		{"dash literal at ends", `[-a-]+`, `x`, "-a-", true, "x"},
		{"range then literal dash", `[a-c-e]+`, `x`, "a-e", true, "x"},
		{"escaped metachars in class", `[\]\[\-\\]+`, `x`, `][-\`, true, "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re, err := Compile(tc.pattern, 0)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.pattern, err)
			}
			repl, err := re.ParseReplacement(tc.replacement)
			if err != nil {
				t.Fatalf("ParseReplacement(%q): %v", tc.replacement, err)
			}
			ok, err := re.Matches(tc.input)
			if err != nil {
				t.Fatalf("Matches: %v", err)
			}
			if ok != tc.matches {
				t.Fatalf("Matches(%q) = %v, want %v", tc.input, ok, tc.matches)
			}
			if !ok {
				return
			}
			got, err := re.ReplaceFirst(tc.input, repl)
			if err != nil {
				t.Fatalf("ReplaceFirst: %v", err)
			}
			if got != tc.want {
				t.Errorf("ReplaceFirst(%q) = %q, want %q", tc.input, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		pattern     string
		unsupported bool
	}{
		{`a{`, false},
		{`*a`, false},
		{`(a`, false},
		{`a)`, false},
		{`\y`, false},
		{`[z-a]`, false},
		{`[a`, false},
		{`(?<1a>x)`, false},
		{`(?<a>x)(?<a>y)`, false},
		{`(?q)`, false},
		{`a**`, false},
		{`(?=a)`, true},
		{`(?<!a)b`, true},
		{`(?>a)`, true},
		{`(a)\1`, true},
		{`\k<a>`, true},
		{`a*+`, true},
		{`[a&&b]`, true},
		{`[a[b]]`, true},
		{`\G`, true},
		{`\R`, true},
		{`(?u)a`, true},
		{`(?U)a`, true},
		{`(?i)\p{Lu}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			_, err := Compile(tc.pattern, 0)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error = %v, want *SyntaxError", tc.pattern, err)
			}
			if se.Unsupported != tc.unsupported {
				t.Errorf("Compile(%q) Unsupported = %v, want %v (%v)", tc.pattern, se.Unsupported, tc.unsupported, err)
			}
		})
	}
}

func TestReplacementErrors(t *testing.T) {
	re := MustCompile(`(?<routedByValue>.*)`, 0)
	for _, repl := range []string{`$`, `x\`, `${nope}`, `${}`, `${abc`, `$2`, `$x`, `${1a}`} {
		if _, err := re.ParseReplacement(repl); err == nil {
			t.Errorf("ParseReplacement(%q) succeeded, want an error", repl)
		}
	}
}

func TestInexactInputs(t *testing.T) {
	re := MustCompile(`(.*)$`, 0)
	if _, err := re.Matches("order\n"); !errors.Is(err, ErrInexact) {
		t.Errorf("Matches with a trailing newline: err = %v, want ErrInexact", err)
	}
	if ok, err := re.Matches("order"); err != nil || !ok {
		t.Errorf("Matches(order) = %v, %v", ok, err)
	}
	wb := MustCompile(`\bx`, 0)
	if _, err := wb.Matches("éx"); !errors.Is(err, ErrInexact) {
		t.Errorf("word boundary next to non-ASCII: err = %v, want ErrInexact", err)
	}
}

func TestCaseInsensitiveFlag(t *testing.T) {
	// Debezium compiles message.prefix.*.list entries with Pattern.CASE_INSENSITIVE.
	re := MustCompile(`heart.*`, CaseInsensitive)
	for in, want := range map[string]bool{"HeartBeat": true, "heartbeat": true, "xheartbeat": false} {
		if got, _ := re.Matches(in); got != want {
			t.Errorf("Matches(%q) = %v, want %v", in, got, want)
		}
	}
}
