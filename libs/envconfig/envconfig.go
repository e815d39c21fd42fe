package envconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/gommon/bytes"
)

// Error is one bad variable.
type Error struct {
	Name  string // variable name
	Value string // the bad value; "" when it is withheld
	Err   error  // why it is bad
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s=%q: %v", e.Name, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Reader reads variables through a getenv function and collects the
// errors. It is not safe for concurrent use.
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv.
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Err returns every error recorded so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

func (r *Reader) bad(name, value string, err error) {
	r.errs = append(r.errs, &Error{Name: name, Value: value, Err: err})
}

// String returns the variable's value, or def when it is unset or blank.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// HostPort returns a host:port address ("host" may be empty, ":8080").
func (r *Reader) HostPort(name, def string) string {
	v := r.String(name, def)
	if _, _, err := net.SplitHostPort(v); err != nil {
		r.bad(name, v, err)
		return def
	}
	return v
}

// HostPorts returns a comma separated list of host:port addresses, blanks
// around each trimmed. The list may end with one comma, as a Go composite
// literal may; any other empty entry is an error, and so is a list without
// an address.
func (r *Reader) HostPorts(name, def string) []string {
	v := r.String(name, def)
	list, err := hostPorts(v)
	if err != nil {
		r.bad(name, v, err)
		return nil
	}
	return list
}

func hostPorts(s string) ([]string, error) {
	entries := strings.Split(s, ",")
	if len(entries) > 1 && strings.TrimSpace(entries[len(entries)-1]) == "" {
		entries = entries[:len(entries)-1]
	}
	var out, problems []string
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			problems = append(problems, fmt.Sprintf("entry %d is empty", i+1))
			continue
		}
		if _, _, err := net.SplitHostPort(e); err != nil {
			problems = append(problems, fmt.Sprintf("entry %d: %v", i+1, err))
			continue
		}
		out = append(out, e)
	}
	if len(problems) == 0 && len(out) == 0 {
		problems = append(problems, "no address")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}

// PostgresURL returns a postgres:// or postgresql:// URL. Errors show it
// with the password redacted, or not at all when it does not parse.
func (r *Reader) PostgresURL(name, def string) string {
	v := r.String(name, def)
	u, err := url.Parse(v)
	if err != nil {
		r.bad(name, "", errors.New("not a URL"))
		return def
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		r.bad(name, u.Redacted(), errors.New("scheme must be postgres:// or postgresql://"))
		return def
	}
	return v
}

// RedactURL returns s with the password of its user info replaced, for
// logs; a string that does not parse as a URL comes back as a placeholder.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Bool returns true or false (strconv.ParseBool's spellings).
func (r *Reader) Bool(name string, def bool) bool {
	v := r.String(name, strconv.FormatBool(def))
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.bad(name, v, errors.New("must be true or false"))
		return def
	}
	return b
}

// LogLevel returns a slog level: debug, info, warn or error, with an
// optional offset such as "info+2".
func (r *Reader) LogLevel(name string, def slog.Level) slog.Level {
	v := r.String(name, def.String())
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.bad(name, v, errors.New("must be debug, info, warn or error"))
		return def
	}
	return l
}

// OneOf returns the variable's value, which must be one of allowed, or def
// when it is unset or blank.
func (r *Reader) OneOf(name, def string, allowed ...string) string {
	v := r.String(name, def)
	if v == def || slices.Contains(allowed, v) {
		return v
	}
	r.bad(name, v, fmt.Errorf("must be %s", strings.Join(allowed, " or ")))
	return def
}

// PositiveInt returns a whole number of at least 1.
func (r *Reader) PositiveInt(name string, def int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.bad(name, v, errors.New("must be a whole number of at least 1"))
		return def
	}
	return n
}

// NaturalInt returns a whole number of at least 0 (0 usually meaning "no
// limit").
func (r *Reader) NaturalInt(name string, def int) int {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.bad(name, v, errors.New("must be a whole number of at least 0"))
		return def
	}
	return n
}

// ByteSize returns a positive size in echo's notation ("64K", "1M", "1MB",
// "512"), unchanged, ready for echo's body limit.
func (r *Reader) ByteSize(name, def string) string {
	v := r.String(name, def)
	if n, err := bytes.Parse(v); err != nil || n <= 0 {
		r.bad(name, v, errors.New("must be a positive size such as 64K or 1M"))
		return def
	}
	return v
}

// Duration returns a positive Go duration ("10s", "1m30s").
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.bad(name, v, errors.New("must be a positive duration such as 10s"))
		return def
	}
	return d
}
