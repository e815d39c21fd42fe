package pgoutput

import (
	"fmt"
	"time"
)

// MessageType is the first byte of a pgoutput message.
type MessageType byte

// Protocol version 1 message types.
const (
	TypeBegin    MessageType = 'B'
	TypeCommit   MessageType = 'C'
	TypeOrigin   MessageType = 'O'
	TypeRelation MessageType = 'R'
	TypeType     MessageType = 'Y'
	TypeInsert   MessageType = 'I'
	TypeUpdate   MessageType = 'U'
	TypeDelete   MessageType = 'D'
	TypeTruncate MessageType = 'T'
	TypeMessage  MessageType = 'M'
)

// String returns the protocol's name for the type.
func (t MessageType) String() string {
	switch t {
	case TypeBegin:
		return "Begin"
	case TypeCommit:
		return "Commit"
	case TypeOrigin:
		return "Origin"
	case TypeRelation:
		return "Relation"
	case TypeType:
		return "Type"
	case TypeInsert:
		return "Insert"
	case TypeUpdate:
		return "Update"
	case TypeDelete:
		return "Delete"
	case TypeTruncate:
		return "Truncate"
	case TypeMessage:
		return "Message"
	case 'S':
		return "Stream Start"
	case 'E':
		return "Stream Stop"
	case 'c':
		return "Stream Commit"
	case 'A':
		return "Stream Abort"
	case 'b':
		return "Begin Prepare"
	case 'P':
		return "Prepare"
	case 'K':
		return "Commit Prepared"
	case 'r':
		return "Rollback Prepared"
	case 'p':
		return "Stream Prepare"
	default:
		return fmt.Sprintf("unknown(%q)", byte(t))
	}
}

// Message is one decoded pgoutput message: *Begin, *Commit, *Origin,
// *Relation, *Type, *Insert, *Update, *Delete, *Truncate or *LogicalMessage.
type Message interface {
	Type() MessageType
}

// Begin starts a transaction. Every change until the matching Commit
// belongs to it.
type Begin struct {
	// FinalLSN is the LSN of the transaction's commit record.
	FinalLSN   LSN
	CommitTime time.Time
	Xid        uint32
}

// Commit ends a transaction.
type Commit struct {
	Flags uint8
	// CommitLSN is the LSN of the commit record.
	CommitLSN LSN
	// TransactionEndLSN is the end of the commit record: confirming it as
	// flushed tells the server the whole transaction was processed.
	TransactionEndLSN LSN
	CommitTime        time.Time
}

// Origin names the replication origin a transaction came from (only for
// transactions replayed by logical replication with an origin set).
type Origin struct {
	CommitLSN LSN
	Name      string
}

// Relation describes a table before the first change to it in a session,
// and again after its definition changed. Later row messages refer to it by
// RelationID.
type Relation struct {
	RelationID uint32
	// Namespace is the schema; pgoutput sends "" for pg_catalog.
	Namespace string
	Name      string
	// ReplicaIdentity is pg_class.relreplident: 'd' default (primary key),
	// 'n' nothing, 'f' full, 'i' index.
	ReplicaIdentity byte
	Columns         []RelationColumn
}

// RelationColumn is one column of a Relation (dropped and generated
// columns are not sent).
type RelationColumn struct {
	// Flags has bit 1 set when the column is part of the replica identity
	// key.
	Flags uint8
	Name  string
	// DataType is pg_attribute.atttypid (a domain's own oid, not its base).
	DataType uint32
	// TypeModifier is pg_attribute.atttypmod (-1 when none).
	TypeModifier int32
}

// Key reports whether the column is part of the replica identity key.
func (c RelationColumn) Key() bool { return c.Flags&1 != 0 }

// Type describes a non-built-in data type before its first use.
type Type struct {
	DataType  uint32
	Namespace string
	Name      string
}

// Tuple kinds of one column value.
const (
	TupleNull      = 'n' // SQL NULL
	TupleUnchanged = 'u' // unchanged TOASTed value (UPDATE only); no data
	TupleText      = 't' // text output of the type
	TupleBinary    = 'b' // binary send output (protocol 2+ with binary 'true')
)

// TupleColumn is one column value of a row.
type TupleColumn struct {
	Kind byte
	// Data is the value for TupleText and TupleBinary; nil otherwise.
	Data []byte
}

// Tuple is a row's column values in Relation column order.
type Tuple []TupleColumn

// Insert is a new row.
type Insert struct {
	RelationID uint32
	New        Tuple
}

// Update is a changed row. Old is set when the replica identity is FULL
// (OldKind 'O': the whole old row) or when an identity column changed
// (OldKind 'K': only the key columns, others TupleNull). Otherwise OldKind
// is 0 and Old nil.
type Update struct {
	RelationID uint32
	OldKind    byte
	Old        Tuple
	New        Tuple
}

// Delete is a removed row: its key columns (OldKind 'K') or, with replica
// identity FULL, the whole old row (OldKind 'O').
type Delete struct {
	RelationID uint32
	OldKind    byte
	Old        Tuple
}

// Truncate options.
const (
	TruncateCascade         = 1
	TruncateRestartIdentity = 2
)

// Truncate empties one or more tables.
type Truncate struct {
	Options     uint8
	RelationIDs []uint32
}

// LogicalMessage is a message written with pg_logical_emit_message.
type LogicalMessage struct {
	// Transactional is true for messages emitted with transactional =>
	// true; they arrive between the transaction's Begin and Commit.
	Transactional bool
	LSN           LSN
	Prefix        string
	Content       []byte
}

// Type implementations.
func (*Begin) Type() MessageType          { return TypeBegin }
func (*Commit) Type() MessageType         { return TypeCommit }
func (*Origin) Type() MessageType         { return TypeOrigin }
func (*Relation) Type() MessageType       { return TypeRelation }
func (*Type) Type() MessageType           { return TypeType }
func (*Insert) Type() MessageType         { return TypeInsert }
func (*Update) Type() MessageType         { return TypeUpdate }
func (*Delete) Type() MessageType         { return TypeDelete }
func (*Truncate) Type() MessageType       { return TypeTruncate }
func (*LogicalMessage) Type() MessageType { return TypeMessage }

// Parse decodes one pgoutput protocol version 1 message (the Data of an
// XLogData). Values alias b.
func Parse(b []byte) (Message, error) {
	return parse(b, nil)
}

// Decoder decodes like Parse and ParseCopyData, but reuses its own storage
// for what a stream carries per row (XLogData, keepalives, Begin, Commit,
// Insert, Update, Delete and their tuples): what Decode or DecodeCopyData
// returns is valid until the next call of the same method. Values alias the input, as with Parse. The zero Decoder is ready to
// use; it is not safe for concurrent use.
type Decoder struct {
	begin  Begin
	commit Commit
	insert Insert
	update Update
	delete Delete
	// tuples back the tuples of the last message: an Update has two.
	tuples [2]Tuple

	xlog      XLogData
	keepalive PrimaryKeepalive
}

// Decode decodes one message like Parse.
func (d *Decoder) Decode(b []byte) (Message, error) {
	return parse(b, d)
}

// parse decodes b into d's storage, or into new values when d is nil.
func parse(b []byte, d *Decoder) (Message, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	t := MessageType(b[0])
	r := &reader{b: b, off: 1}
	var m Message
	switch t {
	case TypeBegin:
		var begin *Begin
		if d != nil {
			begin = &d.begin
		} else {
			begin = new(Begin)
		}
		*begin = Begin{
			FinalLSN:   r.lsn("Begin final LSN"),
			CommitTime: r.time("Begin commit time"),
			Xid:        r.u32("Begin xid"),
		}
		m = begin
	case TypeCommit:
		var commit *Commit
		if d != nil {
			commit = &d.commit
		} else {
			commit = new(Commit)
		}
		*commit = Commit{
			Flags:             r.u8("Commit flags"),
			CommitLSN:         r.lsn("Commit LSN"),
			TransactionEndLSN: r.lsn("Commit end LSN"),
			CommitTime:        r.time("Commit time"),
		}
		m = commit
	case TypeOrigin:
		m = &Origin{CommitLSN: r.lsn("Origin commit LSN"), Name: r.str("Origin name")}
	case TypeRelation:
		m = parseRelation(r)
	case TypeType:
		m = &Type{
			DataType:  r.u32("Type oid"),
			Namespace: r.str("Type namespace"),
			Name:      r.str("Type name"),
		}
	case TypeInsert:
		var ins *Insert
		if d != nil {
			ins = &d.insert
		} else {
			ins = new(Insert)
		}
		*ins = Insert{RelationID: r.u32("Insert relation")}
		if k := r.u8("Insert tuple marker"); k != 'N' && r.err == nil {
			r.fail(fmt.Sprintf("Insert tuple marker %q", k))
		}
		ins.New = parseTuple(r, d.tuple(0))
		m = ins
	case TypeUpdate:
		var up *Update
		if d != nil {
			up = &d.update
		} else {
			up = new(Update)
		}
		*up = Update{RelationID: r.u32("Update relation")}
		k := r.u8("Update tuple marker")
		if k == 'K' || k == 'O' {
			up.OldKind = k
			up.Old = parseTuple(r, d.tuple(1))
			k = r.u8("Update new tuple marker")
		}
		if k != 'N' && r.err == nil {
			r.fail(fmt.Sprintf("Update tuple marker %q", k))
		}
		up.New = parseTuple(r, d.tuple(0))
		m = up
	case TypeDelete:
		var del *Delete
		if d != nil {
			del = &d.delete
		} else {
			del = new(Delete)
		}
		*del = Delete{RelationID: r.u32("Delete relation")}
		k := r.u8("Delete tuple marker")
		if k != 'K' && k != 'O' && r.err == nil {
			r.fail(fmt.Sprintf("Delete tuple marker %q", k))
		}
		del.OldKind = k
		del.Old = parseTuple(r, d.tuple(0))
		m = del
	case TypeTruncate:
		n := r.u32("Truncate relation count")
		tr := &Truncate{Options: r.u8("Truncate options")}
		if r.need(int(n)*4, "Truncate relation ids") {
			tr.RelationIDs = make([]uint32, n)
			for i := range tr.RelationIDs {
				tr.RelationIDs[i] = r.u32("Truncate relation id")
			}
		}
		m = tr
	case TypeMessage:
		// The flags are 0, or 1 for a transactional message; nothing else.
		flags := r.u8("Message flags")
		if flags > 1 {
			r.fail(fmt.Sprintf("Message flags %d (want 0 or 1)", flags))
		}
		lm := &LogicalMessage{
			Transactional: flags == 1,
			LSN:           r.lsn("Message LSN"),
			Prefix:        r.str("Message prefix"),
		}
		n := r.u32("Message length")
		lm.Content = r.bytes(int(n), "Message content")
		m = lm
	default:
		return nil, fmt.Errorf("%w: %s message (pgoutput protocol version 1 only)", ErrUnsupported, t)
	}
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	return m, nil
}

func parseRelation(r *reader) *Relation {
	rel := &Relation{
		RelationID:      r.u32("Relation id"),
		Namespace:       r.str("Relation namespace"),
		Name:            r.str("Relation name"),
		ReplicaIdentity: r.u8("Relation replica identity"),
	}
	n := int(r.u16("Relation column count"))
	// Each column needs at least 10 bytes; refuse absurd counts before
	// allocating.
	if !r.need(n*10, "Relation columns") {
		return rel
	}
	rel.Columns = make([]RelationColumn, n)
	for i := range rel.Columns {
		rel.Columns[i] = RelationColumn{
			Flags:        r.u8("column flags"),
			Name:         r.str("column name"),
			DataType:     r.u32("column type"),
			TypeModifier: int32(r.u32("column type modifier")),
		}
	}
	return rel
}

// tuple returns the reusable storage of tuple i, nil for a nil Decoder.
func (d *Decoder) tuple(i int) *Tuple {
	if d == nil {
		return nil
	}
	return &d.tuples[i]
}

// parseTuple reads a tuple into *buf when buf is not nil (keeping its
// storage there for the next call), else into a new one.
func parseTuple(r *reader, buf *Tuple) Tuple {
	n := int(r.u16("tuple column count"))
	if !r.need(n, "tuple columns") {
		return nil
	}
	var t Tuple
	switch {
	case buf == nil:
		t = make(Tuple, n)
	case cap(*buf) >= n:
		t = (*buf)[:n]
	default:
		t = make(Tuple, n)
		*buf = t
	}
	for i := range t {
		k := r.u8("tuple column kind")
		switch k {
		case TupleNull, TupleUnchanged:
			t[i] = TupleColumn{Kind: k}
		case TupleText, TupleBinary:
			l := r.u32("tuple value length")
			t[i] = TupleColumn{Kind: k, Data: r.bytes(int(l), "tuple value")}
		default:
			if r.err == nil {
				r.fail(fmt.Sprintf("tuple column kind %q", k))
			}
			return nil
		}
		if r.err != nil {
			return nil
		}
	}
	return t
}
