package pgoutput_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

// oracle decodes b with pglogrepl, turning its panics on malformed input
// into errors.
func oracle(b []byte) (m pglogrepl.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pglogrepl panicked: %v", r)
		}
	}()
	if len(b) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return pglogrepl.Parse(b)
}

// same reports whether our message and pglogrepl's carry the same content.
func same(ours pgoutput.Message, theirs pglogrepl.Message) bool {
	tuple := func(a pgoutput.Tuple, b *pglogrepl.TupleData) bool {
		if b == nil || len(a) != len(b.Columns) {
			return false
		}
		for i, c := range a {
			if c.Kind != b.Columns[i].DataType || !bytes.Equal(c.Data, b.Columns[i].Data) {
				return false
			}
		}
		return true
	}
	// pglogrepl adds a time.Duration to 2000-01-01, which overflows 292
	// years out; compare times where its arithmetic holds.
	t0 := func(t time.Time) int64 {
		if y := t.Year(); y < 1800 || y > 2200 {
			return 0
		}
		return t.UnixMicro()
	}
	switch o := ours.(type) {
	case *pgoutput.Begin:
		m, ok := theirs.(*pglogrepl.BeginMessage)
		return ok && uint64(o.FinalLSN) == uint64(m.FinalLSN) && o.Xid == m.Xid && (t0(o.CommitTime) == 0 || t0(o.CommitTime) == t0(m.CommitTime))
	case *pgoutput.Commit:
		m, ok := theirs.(*pglogrepl.CommitMessage)
		return ok && o.Flags == m.Flags && uint64(o.CommitLSN) == uint64(m.CommitLSN) &&
			uint64(o.TransactionEndLSN) == uint64(m.TransactionEndLSN) && (t0(o.CommitTime) == 0 || t0(o.CommitTime) == t0(m.CommitTime))
	case *pgoutput.Origin:
		m, ok := theirs.(*pglogrepl.OriginMessage)
		return ok && uint64(o.CommitLSN) == uint64(m.CommitLSN) && o.Name == m.Name
	case *pgoutput.Relation:
		m, ok := theirs.(*pglogrepl.RelationMessage)
		if !ok || o.RelationID != m.RelationID || o.Namespace != m.Namespace || o.Name != m.RelationName ||
			o.ReplicaIdentity != m.ReplicaIdentity || len(o.Columns) != len(m.Columns) {
			return false
		}
		for i, c := range o.Columns {
			d := m.Columns[i]
			if c.Flags != d.Flags || c.Name != d.Name || c.DataType != d.DataType || c.TypeModifier != d.TypeModifier {
				return false
			}
		}
		return true
	case *pgoutput.Type:
		m, ok := theirs.(*pglogrepl.TypeMessage)
		return ok && o.DataType == m.DataType && o.Namespace == m.Namespace && o.Name == m.Name
	case *pgoutput.Insert:
		m, ok := theirs.(*pglogrepl.InsertMessage)
		return ok && o.RelationID == m.RelationID && tuple(o.New, m.Tuple)
	case *pgoutput.Update:
		m, ok := theirs.(*pglogrepl.UpdateMessage)
		if !ok || o.RelationID != m.RelationID || !tuple(o.New, m.NewTuple) || o.OldKind != m.OldTupleType {
			return false
		}
		return o.OldKind == 0 || tuple(o.Old, m.OldTuple)
	case *pgoutput.Delete:
		m, ok := theirs.(*pglogrepl.DeleteMessage)
		return ok && o.RelationID == m.RelationID && o.OldKind == m.OldTupleType && tuple(o.Old, m.OldTuple)
	case *pgoutput.Truncate:
		m, ok := theirs.(*pglogrepl.TruncateMessage)
		if !ok || o.Options != m.Option || len(o.RelationIDs) != len(m.RelationIDs) {
			return false
		}
		for i := range o.RelationIDs {
			if o.RelationIDs[i] != m.RelationIDs[i] {
				return false
			}
		}
		return true
	case *pgoutput.LogicalMessage:
		m, ok := theirs.(*pglogrepl.LogicalDecodingMessage)
		return ok && o.Transactional == m.Transactional && uint64(o.LSN) == uint64(m.LSN) && o.Prefix == m.Prefix &&
			bytes.Equal(o.Content, m.Content)
	}
	return false
}

// seeds are well-formed pgoutput v1 messages of every kind.
func seeds() [][]byte {
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	str := func(s string) []byte { return append([]byte(s), 0) }
	tuple := cat([]byte{0, 3}, []byte{'t'}, u32(3), []byte("abc"), []byte{'n'}, []byte{'u'})
	return [][]byte{
		cat([]byte{'B'}, u64(0x16B3748), u64(777000000), u32(42)),
		cat([]byte{'C', 0}, u64(0x16B3748), u64(0x16B3778), u64(777000001)),
		cat([]byte{'O'}, u64(0x16B3748), str("upstream")),
		cat([]byte{'R'}, u32(16385), str("public"), str("outbox"), []byte{'d', 0, 2},
			[]byte{1}, str("id"), u32(2950), u32(0xFFFFFFFF), []byte{0}, str("payload"), u32(3802), u32(0xFFFFFFFF)),
		cat([]byte{'Y'}, u32(3802), str("pg_catalog"), str("jsonb")),
		cat([]byte{'I'}, u32(16385), []byte{'N'}, tuple),
		cat([]byte{'U'}, u32(16385), []byte{'N'}, tuple),
		cat([]byte{'U'}, u32(16385), []byte{'K'}, tuple, []byte{'N'}, tuple),
		cat([]byte{'D'}, u32(16385), []byte{'O'}, tuple),
		cat([]byte{'T'}, u32(2), []byte{1}, u32(16385), u32(16386)),
		cat([]byte{'M', 1}, u64(0x16B3748), str("outbox"), u32(5), []byte("hello")),
	}
}

// FuzzParseAgainstPglogrepl decodes the same bytes with our decoder and
// with pglogrepl: whatever ours accepts, pglogrepl must accept with the
// same content. (pglogrepl accepts some malformed input ours rejects, such
// as trailing bytes; that direction is not required.)
func FuzzParseAgainstPglogrepl(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, err := pgoutput.Parse(b)
		if err != nil {
			return
		}
		if tr, ok := ours.(*pgoutput.Truncate); ok && len(tr.RelationIDs) == 0 {
			// The protocol allows a Truncate of no relations (a count, then
			// that many ids); pglogrepl requires at least one.
			return
		}
		theirs, oerr := oracle(b)
		if oerr != nil {
			t.Fatalf("ours decoded %x as %T, pglogrepl rejects it: %v", b, ours, oerr)
		}
		if !same(ours, theirs) {
			t.Fatalf("%x decodes differently:\n ours   %+v\n theirs %+v", b, ours, theirs)
		}
	})
}

// Every seed decodes alike: the comparison itself is checked.
func TestSeedsDecodeAlike(t *testing.T) {
	for _, s := range seeds() {
		ours, err := pgoutput.Parse(s)
		if err != nil {
			t.Fatalf("%c: %v", s[0], err)
		}
		theirs, err := oracle(s)
		if err != nil || !same(ours, theirs) {
			t.Fatalf("%c: ours %+v, pglogrepl %+v (%v)", s[0], ours, theirs, err)
		}
	}
}

// Wire timestamps convert exactly, far beyond a time.Duration's reach.
func TestTimestampsOverTheWholeRange(t *testing.T) {
	for _, tc := range []struct {
		us   int64
		want time.Time
	}{
		{0, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{-1, time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{1, time.Date(2000, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{400 * 366 * 24 * 3600 * 1e6, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 400*366)},
	} {
		b := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{'B'}, 1), uint64(tc.us))
		b = binary.BigEndian.AppendUint32(b, 7)
		m, err := pgoutput.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*pgoutput.Begin).CommitTime; !got.Equal(tc.want) {
			t.Errorf("%d µs = %v, want %v", tc.us, got, tc.want)
		}
	}
}
