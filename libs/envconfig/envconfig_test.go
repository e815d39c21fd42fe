package envconfig

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// read runs one method against NAME=value and returns its result and the
// recorded error.
func read[T any](value string, method func(r *Reader) T) (T, error) {
	r := New(env(map[string]string{"NAME": value}))
	v := method(r)
	return v, r.Err()
}

func TestString(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"", "def"}, {"   ", "def"}, {" x ", "x"}, {"a b", "a b"},
	} {
		if got, err := read(tt.value, func(r *Reader) string { return r.String("NAME", "def") }); got != tt.want || err != nil {
			t.Errorf("String(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
		}
	}
}

func TestHostPort(t *testing.T) {
	for _, tt := range []struct {
		value, def, want string
		bad              bool
	}{
		{"", "127.0.0.1:8080", "127.0.0.1:8080", false},
		{":0", "127.0.0.1:8080", ":0", false},
		{"[::1]:80", "x:1", "[::1]:80", false},
		{"8081", "127.0.0.1:8080", "127.0.0.1:8080", true},
		{"", "nohost", "nohost", true}, // a bad default is reported too
	} {
		got, err := read(tt.value, func(r *Reader) string { return r.HostPort("NAME", tt.def) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("HostPort(%q, def %q) = %q, %v; want %q, bad %v", tt.value, tt.def, got, err, tt.want, tt.bad)
		}
	}
}

func TestHostPorts(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  []string
		bad   string // part of the error, "" for none
	}{
		{"", []string{"127.0.0.1:9092"}, ""},
		{"k1:9092", []string{"k1:9092"}, ""},
		{"k1:9092, k2:9093", []string{"k1:9092", "k2:9093"}, ""},
		{"a:1, b:2,", []string{"a:1", "b:2"}, ""},
		{"a:1, b:2 , ", []string{"a:1", "b:2"}, ""},
		{"k1:9092,,", nil, "entry 2 is empty"},
		{"a:1,,b:2", nil, "entry 2 is empty"},
		{",a:1", nil, "entry 1 is empty"},
		{" , ", nil, "entry 1 is empty"},
		{",", nil, "entry 1 is empty"},
		{"nohostport", nil, "entry 1: address nohostport: missing port"},
		{"a:1,no-port", nil, "entry 2: address no-port"},
	} {
		got, err := read(tt.value, func(r *Reader) []string { return r.HostPorts("NAME", "127.0.0.1:9092") })
		switch {
		case tt.bad == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("HostPorts(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad) || got != nil):
			t.Errorf("HostPorts(%q) = %q, %v; want nil and an error saying %q", tt.value, got, err, tt.bad)
		}
	}
}

func TestPostgresURL(t *testing.T) {
	const def = "postgres://svc:pw@127.0.0.1:5432/db"
	for _, tt := range []struct {
		value, want, bad string
	}{
		{"", def, ""},
		{"postgresql://u:p@db:5432/o", "postgresql://u:p@db:5432/o", ""},
		{"postgres://x@y/z?sslmode=disable", "postgres://x@y/z?sslmode=disable", ""},
		{"mysql://user:secret@x/y", def, `NAME="mysql://user:xxxxx@x/y": scheme must be`},
		{"postgres://u:secret@h/db\x7f", def, "NAME: not a URL"},
	} {
		got, err := read(tt.value, func(r *Reader) string { return r.PostgresURL("NAME", def) })
		if got != tt.want {
			t.Errorf("PostgresURL(%q) = %q, want %q", tt.value, got, tt.want)
		}
		if tt.bad == "" && err != nil || tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)) {
			t.Errorf("PostgresURL(%q) error = %v, want one saying %q", tt.value, err, tt.bad)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("PostgresURL(%q) error reveals the password: %v", tt.value, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://h/db", "postgres://h/db"},
		{"postgres://u:secret@h/db\x7f", "(unparsable URL)"},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBool(t *testing.T) {
	for _, tt := range []struct {
		value     string
		def, want bool
		bad       bool
	}{
		{"", true, true, false}, {"", false, false, false}, {"false", true, false, false},
		{"1", false, true, false}, {"TRUE", false, true, false}, {"maybe", true, true, true},
	} {
		got, err := read(tt.value, func(r *Reader) bool { return r.Bool("NAME", tt.def) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("Bool(%q, def %v) = %v, %v; want %v, bad %v", tt.value, tt.def, got, err, tt.want, tt.bad)
		}
	}
}

func TestLogLevel(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  slog.Level
		bad   bool
	}{
		{"", slog.LevelInfo, false}, {"debug", slog.LevelDebug, false}, {"WARN", slog.LevelWarn, false},
		{"error", slog.LevelError, false}, {"info+2", slog.LevelInfo + 2, false}, {"loud", slog.LevelInfo, true},
	} {
		got, err := read(tt.value, func(r *Reader) slog.Level { return r.LogLevel("NAME", slog.LevelInfo) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("LogLevel(%q) = %v, %v; want %v, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
	}
}

func TestOneOf(t *testing.T) {
	for _, tt := range []struct {
		value, want string
		bad         bool
	}{
		{"", "", false}, {"json", "json", false}, {" text ", "text", false}, {"yaml", "", true}, {"JSON", "", true},
	} {
		got, err := read(tt.value, func(r *Reader) string { return r.OneOf("NAME", "", "json", "text") })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("OneOf(%q) = %q, %v; want %q, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
		if tt.bad && !strings.Contains(err.Error(), "must be json or text") {
			t.Errorf("OneOf(%q) error %q does not say what is allowed", tt.value, err)
		}
	}
}

func TestPositiveInt(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  int
		bad   bool
	}{
		{"", 8, false}, {"1", 1, false}, {" 32 ", 32, false}, {"0", 8, true}, {"-3", 8, true}, {"many", 8, true},
	} {
		got, err := read(tt.value, func(r *Reader) int { return r.PositiveInt("NAME", 8) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("PositiveInt(%q) = %d, %v; want %d, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
	}
}

func TestNaturalInt(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  int
		bad   bool
	}{
		{"", 8, false}, {"0", 0, false}, {" 32 ", 32, false}, {"-1", 8, true}, {"1.5", 8, true}, {"many", 8, true},
	} {
		got, err := read(tt.value, func(r *Reader) int { return r.NaturalInt("NAME", 8) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("NaturalInt(%q) = %d, %v; want %d, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tt := range []struct {
		value, want string
		bad         bool
	}{
		{"", "64K", false}, {"1M", "1M", false}, {"512", "512", false}, {"2KB", "2KB", false},
		{"lots", "64K", true}, {"0", "64K", true}, {"-1K", "64K", true},
	} {
		got, err := read(tt.value, func(r *Reader) string { return r.ByteSize("NAME", "64K") })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("ByteSize(%q) = %q, %v; want %q, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  time.Duration
		bad   bool
	}{
		{"", 10 * time.Second, false}, {"3s", 3 * time.Second, false}, {"1m30s", 90 * time.Second, false},
		{"soon", 10 * time.Second, true}, {"-1s", 10 * time.Second, true}, {"0s", 10 * time.Second, true},
		{"10", 10 * time.Second, true},
	} {
		got, err := read(tt.value, func(r *Reader) time.Duration { return r.Duration("NAME", 10*time.Second) })
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("Duration(%q) = %v, %v; want %v, bad %v", tt.value, got, err, tt.want, tt.bad)
		}
	}
}

func TestErrNamesEveryBadVariable(t *testing.T) {
	r := New(env(map[string]string{"A": "nohost", "B": "maybe", "C": "ok", "D": "soon"}))
	r.HostPort("A", ":1")
	r.Bool("B", true)
	r.String("C", "")
	r.Duration("D", time.Second)
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ve *Error
		if !errors.As(e, &ve) {
			t.Fatalf("%v is not an *Error", e)
		}
		names = append(names, ve.Name)
	}
	if !slices.Equal(names, []string{"A", "B", "D"}) {
		t.Fatalf("bad variables = %q, want A, B, D in order", names)
	}
	if want := `A="nohost": address nohost: missing port in address`; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error text = %q, want it to start with %q", err, want)
	}
	if New(env(nil)).Err() != nil {
		t.Fatal("a Reader that read nothing has an error")
	}
}
