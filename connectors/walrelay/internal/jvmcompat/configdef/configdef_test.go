package configdef

import (
	"errors"
	"testing"
)

func TestParseBool(t *testing.T) {
	const name = "slot.drop.on.stop"
	for _, tc := range []struct {
		desc, value string
		want        bool
		err         string // the whole message; "" when the value parses
	}{
		{"true", "true", true, ""},
		{"false", "false", false, ""},
		{"upper case", "TRUE", true, ""},
		{"mixed case", "FaLsE", false, ""},
		{"surrounding spaces", "  true ", true, ""},
		{"tabs and newlines", "\tfalse\r\n", false, ""},
		// String.trim removes every character <= U+0020, control characters included.
		{"control characters", "\x00\x01true\x1f", true, ""},
		// equalsIgnoreCase compares upper-cased characters: U+017F (long s) upper-cases to S.
		{"long s", "FALſE", false, ""},
		{"empty", "", false, "Invalid value  for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"blank", "   ", false, "Invalid value     for configuration slot.drop.on.stop: Expected value to be either true or false"},
		// String.trim keeps U+00A0 (no-break space), unlike strings.TrimSpace.
		{"no-break space", "true\u00a0", false, "Invalid value true\u00a0 for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"yes", "yes", false, "Invalid value yes for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"one", "1", false, "Invalid value 1 for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"prefix", "tru", false, "Invalid value tru for configuration slot.drop.on.stop: Expected value to be either true or false"},
		{"inner space", "t rue", false, "Invalid value t rue for configuration slot.drop.on.stop: Expected value to be either true or false"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseBool(name, tc.value)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ParseBool(%q) = %v, %v; want %v", tc.value, got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.err {
				t.Fatalf("ParseBool(%q) error = %v; want %q", tc.value, err, tc.err)
			}
			var ce *ConfigException
			if !errors.As(err, &ce) || ce.Name != name || ce.Value != tc.value {
				t.Fatalf("ParseBool(%q) error = %#v; want a *ConfigException for %s with the value as given", tc.value, err, name)
			}
		})
	}
}

func TestBool(t *testing.T) {
	props := map[string]string{"on": " TRUE", "blank": "", "bad": "no"}
	for _, tc := range []struct {
		key       string
		def, want bool
		fails     bool
	}{
		{"absent", true, true, false},
		{"absent", false, false, false},
		{"on", false, true, false},
		// A present blank value is parsed (and rejected), not replaced by the default.
		{"blank", true, true, true},
		{"blank", false, false, true},
		{"bad", true, true, true},
	} {
		got, err := Bool(props, tc.key, tc.def)
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("Bool(%s, default %v) = %v, %v; want %v, error %v", tc.key, tc.def, got, err, tc.want, tc.fails)
		}
	}
}
