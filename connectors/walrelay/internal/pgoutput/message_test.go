package pgoutput

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
)

// enc builds protocol messages for tests.
type enc []byte

func (e enc) u8(v byte) enc      { return append(e, v) }
func (e enc) u16(v uint16) enc   { return binary.BigEndian.AppendUint16(e, v) }
func (e enc) u32(v uint32) enc   { return binary.BigEndian.AppendUint32(e, v) }
func (e enc) u64(v uint64) enc   { return binary.BigEndian.AppendUint64(e, v) }
func (e enc) str(s string) enc   { return append(append(e, s...), 0) }
func (e enc) raw(b []byte) enc   { return append(e, b...) }
func (e enc) ts(t time.Time) enc { return e.u64(uint64(timeToPG(t))) }

func (e enc) text(s string) enc { return e.u8('t').u32(uint32(len(s))).raw([]byte(s)) }

var commitTime = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   enc
		want Message
	}{
		{
			name: "begin",
			in:   enc{'B'}.u64(0x16_B374D848).ts(commitTime).u32(771),
			want: &Begin{FinalLSN: 0x16_B374D848, CommitTime: commitTime, Xid: 771},
		},
		{
			name: "commit",
			in:   enc{'C'}.u8(0).u64(0x100).u64(0x138).ts(commitTime),
			want: &Commit{CommitLSN: 0x100, TransactionEndLSN: 0x138, CommitTime: commitTime},
		},
		{
			name: "origin",
			in:   enc{'O'}.u64(0x200).str("node_a"),
			want: &Origin{CommitLSN: 0x200, Name: "node_a"},
		},
		{
			name: "relation",
			in: enc{'R'}.u32(16384).str("public").str("outbox").u8('d').u16(3).
				u8(1).str("id").u32(2950).u32(0xFFFFFFFF).
				u8(0).str("payload").u32(3802).u32(0xFFFFFFFF).
				u8(0).str("created_at").u32(1114).u32(3),
			want: &Relation{RelationID: 16384, Namespace: "public", Name: "outbox", ReplicaIdentity: 'd', Columns: []RelationColumn{
				{Flags: 1, Name: "id", DataType: 2950, TypeModifier: -1},
				{Name: "payload", DataType: 3802, TypeModifier: -1},
				{Name: "created_at", DataType: 1114, TypeModifier: 3},
			}},
		},
		{
			name: "relation without columns",
			in:   enc{'R'}.u32(7).str("").str("t").u8('n').u16(0),
			want: &Relation{RelationID: 7, Name: "t", ReplicaIdentity: 'n', Columns: []RelationColumn{}},
		},
		{
			name: "type",
			in:   enc{'Y'}.u32(16390).str("public").str("money_amount"),
			want: &Type{DataType: 16390, Namespace: "public", Name: "money_amount"},
		},
		{
			name: "insert",
			in:   enc{'I'}.u32(16384).u8('N').u16(4).text("a").u8('n').text("").u8('b').u32(2).raw([]byte{0, 1}),
			want: &Insert{RelationID: 16384, New: Tuple{
				{Kind: TupleText, Data: []byte("a")},
				{Kind: TupleNull},
				{Kind: TupleText, Data: []byte{}},
				{Kind: TupleBinary, Data: []byte{0, 1}},
			}},
		},
		{
			name: "update without old tuple",
			in:   enc{'U'}.u32(5).u8('N').u16(2).text("1").u8('u'),
			want: &Update{RelationID: 5, New: Tuple{{Kind: TupleText, Data: []byte("1")}, {Kind: TupleUnchanged}}},
		},
		{
			name: "update with old key",
			in:   enc{'U'}.u32(5).u8('K').u16(2).text("1").u8('n').u8('N').u16(2).text("2").text("x"),
			want: &Update{RelationID: 5, OldKind: 'K',
				Old: Tuple{{Kind: TupleText, Data: []byte("1")}, {Kind: TupleNull}},
				New: Tuple{{Kind: TupleText, Data: []byte("2")}, {Kind: TupleText, Data: []byte("x")}}},
		},
		{
			name: "update with old row",
			in:   enc{'U'}.u32(5).u8('O').u16(1).text("old").u8('N').u16(1).text("new"),
			want: &Update{RelationID: 5, OldKind: 'O',
				Old: Tuple{{Kind: TupleText, Data: []byte("old")}},
				New: Tuple{{Kind: TupleText, Data: []byte("new")}}},
		},
		{
			name: "delete by key",
			in:   enc{'D'}.u32(5).u8('K').u16(2).text("1").u8('n'),
			want: &Delete{RelationID: 5, OldKind: 'K', Old: Tuple{{Kind: TupleText, Data: []byte("1")}, {Kind: TupleNull}}},
		},
		{
			name: "delete full row",
			in:   enc{'D'}.u32(5).u8('O').u16(1).text("1"),
			want: &Delete{RelationID: 5, OldKind: 'O', Old: Tuple{{Kind: TupleText, Data: []byte("1")}}},
		},
		{
			name: "truncate",
			in:   enc{'T'}.u32(2).u8(TruncateCascade | TruncateRestartIdentity).u32(16384).u32(16390),
			want: &Truncate{Options: 3, RelationIDs: []uint32{16384, 16390}},
		},
		{
			name: "transactional message",
			in:   enc{'M'}.u8(1).u64(0x5000).str("outbox").u32(5).raw([]byte("hello")),
			want: &LogicalMessage{Transactional: true, LSN: 0x5000, Prefix: "outbox", Content: []byte("hello")},
		},
		{
			name: "non-transactional empty message",
			in:   enc{'M'}.u8(0).u64(0x5000).str("heartbeat").u32(0),
			want: &LogicalMessage{LSN: 0x5000, Prefix: "heartbeat", Content: []byte{}},
		},
	}
	// One Decoder for every case: each reuses what the previous ones left,
	// failed decodes of truncated input included.
	var dec Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse =\n%#v\nwant\n%#v", got, tt.want)
			}
			for n := 1; n < len(tt.in); n += 3 {
				if _, err := dec.Decode(tt.in[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("Decode(first %d of %d bytes) error = %v, want ErrMalformed", n, len(tt.in), err)
				}
			}
			decoded, err := dec.Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(decoded, tt.want) {
				t.Fatalf("Decode =\n%#v\nwant\n%#v", decoded, tt.want)
			}
			if got.Type() != MessageType(tt.in[0]) {
				t.Fatalf("Type() = %v, want %v", got.Type(), MessageType(tt.in[0]))
			}
			// Every strict prefix is malformed, never a panic or a
			// silently short value.
			for n := 1; n < len(tt.in); n++ {
				if _, err := Parse(tt.in[:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(first %d of %d bytes) error = %v, want ErrMalformed", n, len(tt.in), err)
				}
			}
			// Trailing bytes are malformed too.
			if _, err := Parse(append(enc(nil).raw(tt.in), 0)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(with trailing byte) error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"stream start (protocol 2)", enc{'S'}.u32(1).u8(1), ErrUnsupported},
		{"stream commit (protocol 2)", enc{'c'}.u32(1), ErrUnsupported},
		{"begin prepare (protocol 3)", enc{'b'}, ErrUnsupported},
		{"unknown type", []byte{'?'}, ErrUnsupported},
		{"insert without N marker", enc{'I'}.u32(1).u8('X').u16(0), ErrMalformed},
		{"update with bad marker", enc{'U'}.u32(1).u8('X').u16(0), ErrMalformed},
		{"delete without old tuple marker", enc{'D'}.u32(1).u8('N').u16(0), ErrMalformed},
		{"unknown tuple kind", enc{'I'}.u32(1).u8('N').u16(1).u8('z'), ErrMalformed},
		{"value longer than message", enc{'I'}.u32(1).u8('N').u16(1).u8('t').u32(100).raw([]byte("ab")), ErrMalformed},
		{"huge column count", enc{'R'}.u32(1).str("s").str("t").u8('d').u16(0xFFFF), ErrMalformed},
		{"huge truncate count", enc{'T'}.u32(0xFFFFFFFF).u8(0), ErrMalformed},
		{"unterminated prefix", enc{'M'}.u8(0).u64(1).raw([]byte("abc")), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %#v, %v; want error %v", m, err, tt.want)
			}
		})
	}
}

func TestParseAliasesInput(t *testing.T) {
	in := enc{'I'}.u32(1).u8('N').u16(1).text("abc")
	m, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	in[len(in)-1] = 'X'
	if got := string(m.(*Insert).New[0].Data); got != "abX" {
		t.Fatalf("value = %q, want it to alias the input (abX)", got)
	}
	// Appending to a value must not overwrite the following bytes.
	in2 := enc{'I'}.u32(1).u8('N').u16(2).text("a").text("b")
	m2, err := Parse(in2)
	if err != nil {
		t.Fatal(err)
	}
	ins := m2.(*Insert)
	_ = append(ins.New[0].Data, 'Z')
	if string(ins.New[1].Data) != "b" {
		t.Fatalf("appending to one value changed the next: %q", ins.New[1].Data)
	}
}

func TestMessageTypeString(t *testing.T) {
	for typ, want := range map[MessageType]string{
		TypeBegin: "Begin", TypeCommit: "Commit", TypeRelation: "Relation", TypeMessage: "Message",
		'S': "Stream Start", 'P': "Prepare", 'x': `unknown('x')`,
	} {
		if got := typ.String(); got != want {
			t.Errorf("%q.String() = %q, want %q", byte(typ), got, want)
		}
	}
}
