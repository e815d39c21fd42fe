package eventrouter

import (
	"time"
)

// Column is one column of a captured row: catalog facts plus the value as pgoutput ships it (text format).
type Column struct {
	Name    string
	TypeOID uint32 // pg_type oid of the column (domains resolved to their base type by the source task)
	TypeMod int32  // atttypmod (e.g. timestamp precision; -1 when none)
	NotNull bool   // pg_attribute.attnotnull (decides "optional" in JsonConverter schemas)
	Key     bool   // part of the primary key / replica identity
	Null    bool   // the value is SQL NULL
	Value   []byte // PostgreSQL text output; bytea in \x hex form
	// Unavailable marks Value as the unavailable.value.placeholder standing for an unchanged TOASTed value the
	// stream does not carry. Debezium puts the placeholder's bytes into a bytea column as a byte[] (not the
	// ByteBuffer a bytea value becomes), which StringConverter prints as "[B@<identity hash>".
	Unavailable bool
}

// Op is a Debezium change operation code.
type Op byte

// Operations.
const (
	OpCreate   Op = 'c'
	OpRead     Op = 'r' // snapshot row
	OpUpdate   Op = 'u'
	OpDelete   Op = 'd'
	OpTruncate Op = 't'
)

// Change is one row change in the captured table.
type Change struct {
	Op     Op
	Schema string
	Table  string
	After  []Column // row after the change (create/read/update); nil for delete/truncate
	// OldKey is set by the source task on an UPDATE that changed the primary key: Debezium emits that as delete+create,
	// the router drops the delete and routes the create with an extra __debezium.oldkey header. The source task passes
	// Op=OpUpdate with OldKey set (the old primary-key columns, in primary-key order); the router handles the rest.
	OldKey []Column
}

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte // nil = null header value
}

// Record is what the relay produces to Kafka.
type Record struct {
	Topic     string
	Partition int32  // -1: let the producer's Java-compatible key hashing (murmur2) pick
	Key       []byte // nil = null key
	Value     []byte // nil = null value (tombstone)
	Headers   []Header
	Timestamp time.Time
}

// Worker holds the Kafka Connect worker-level defaults (Debezium image env KEY_CONVERTER, VALUE_CONVERTER,
// CONNECT_KEY_CONVERTER_SCHEMAS_ENABLE, ..., HEADER_CONVERTER). Zero value = the Debezium image defaults
// (JsonConverter with schemas.enable=true for key and value, SimpleHeaderConverter).
type Worker struct {
	Props map[string]string // worker properties, e.g. "key.converter", "value.converter.schemas.enable"
}

// ConfigError names one config key and what is wrong with it (used for Connect's 400 validation response).
type ConfigError struct{ Key, Message string }

func (e ConfigError) Error() string { return e.Key + ": " + e.Message }

// LogicalMessage is a logical decoding message (pg_logical_emit_message) as pgoutput delivers it.
//
// Transactional, LSN, Prefix and Content are what the pgoutput 'M' message carries. The other fields feed the
// message record's source block the way Debezium fills it; their zero values give Debezium's behaviour for a
// non-transactional message.
type LogicalMessage struct {
	Transactional bool
	LSN           uint64 // the message's LSN (source.lsn)
	Prefix        string
	Content       []byte

	// CommitTime is the commit time of the enclosing transaction (from its BEGIN) for a transactional message, and
	// of the last transaction streamed before it for one that is not (Debezium's source info keeps its last
	// timestamp); zero, when there is none, uses now, as Debezium does.
	CommitTime time.Time
	// TxID is the transaction's xid for a transactional message (0 = none, source.txId null).
	TxID uint32
	// LastCommitLSN is the commit LSN of the last transaction completed before this message (the first element of
	// source.sequence). For a non-transactional message Debezium sets it to LSN itself; 0 means that.
	LastCommitLSN uint64
}
