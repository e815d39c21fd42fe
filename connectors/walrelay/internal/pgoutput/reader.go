package pgoutput

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrMalformed reports a message that is shorter than its fields or
// otherwise not what the protocol describes.
var ErrMalformed = errors.New("pgoutput: malformed message")

// ErrUnsupported reports a message type outside protocol version 1 or an
// unknown message type.
var ErrUnsupported = errors.New("pgoutput: unsupported message")

// pgEpochUnix is the zero of PostgreSQL's wire timestamps, 2000-01-01 UTC,
// in Unix seconds.
const pgEpochUnix = 946684800

// timeFromPG converts microseconds since 2000-01-01 UTC, exactly over the
// whole int64 range (a time.Duration would overflow 292 years out).
func timeFromPG(us int64) time.Time {
	return time.Unix(pgEpochUnix+us/1e6, (us%1e6)*1e3).UTC()
}

// timeToPG converts to microseconds since 2000-01-01 UTC; the zero time
// becomes 0.
func timeToPG(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return (t.Unix()-pgEpochUnix)*1e6 + int64(t.Nanosecond()/1e3)
}

// reader walks a message, remembering the first error so callers can read
// every field and check once.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d of %d bytes", ErrMalformed, what, r.off, len(r.b))
	}
}

func (r *reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail(what)
		return false
	}
	return true
}

func (r *reader) u8(what string) byte {
	if !r.need(1, what) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) u32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) u64(what string) uint64 {
	if !r.need(8, what) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *reader) lsn(what string) LSN { return LSN(r.u64(what)) }

func (r *reader) time(what string) time.Time { return timeFromPG(int64(r.u64(what))) }

// str reads a NUL-terminated string.
func (r *reader) str(what string) string {
	if r.err != nil {
		return ""
	}
	i := bytes.IndexByte(r.b[r.off:], 0)
	if i < 0 {
		r.fail(what + " (no terminating NUL)")
		return ""
	}
	s := string(r.b[r.off : r.off+i])
	r.off += i + 1
	return s
}

// bytes returns the next n bytes without copying.
func (r *reader) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

// rest returns the remaining bytes without copying.
func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	v := r.b[r.off:len(r.b):len(r.b)]
	r.off = len(r.b)
	return v
}

// done reports the first error, or trailing bytes as malformed.
func (r *reader) done() error {
	if r.err == nil && r.off != len(r.b) {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)-r.off))
	}
	return r.err
}
