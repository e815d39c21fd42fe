package pgoutput

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a PostgreSQL write-ahead log position (pg_lsn).
type LSN uint64

// String formats the LSN the way PostgreSQL prints pg_lsn, e.g. "16/B374D848".
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))
}

// MarshalText writes the LSN in PostgreSQL's form, so logs and JSON show
// "16/B374D848" rather than a number.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ParseLSN parses PostgreSQL's text form of a pg_lsn ("16/B374D848").
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("pgoutput: invalid LSN %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("pgoutput: invalid LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("pgoutput: invalid LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}
