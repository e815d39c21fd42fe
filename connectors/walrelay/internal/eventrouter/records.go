package eventrouter

import (
	"strconv"
	"time"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javaregex"
)

// DebeziumVersion is the Debezium release this package follows, reported as source.version in message records.
const DebeziumVersion = "3.6.1.Final"

// Heartbeat and logical-decoding-message schemas (SchemaFactory, PostgresSchemaFactory).
var (
	heartbeatKeySchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.common.ServerNameKey", Version: cd.Version(1),
		Fields: []cd.Field{{Name: "serverName", Schema: cd.StringSchema}}}
	heartbeatValueSchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.common.Heartbeat", Version: cd.Version(1),
		Fields: []cd.Field{{Name: "ts_ms", Schema: cd.Int64Schema}}}

	messageKeySchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.postgresql.MessageKey", Version: cd.Version(1),
		Fields: []cd.Field{{Name: "prefix", Schema: cd.OptionalStringSchema}}}
	messageBlockSchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.postgresql.Message", Version: cd.Version(1),
		Fields: []cd.Field{{Name: "prefix", Schema: cd.OptionalStringSchema}, {Name: "content", Schema: cd.OptionalBytesSchema}}}
	snapshotSchema = &cd.Schema{Type: cd.TypeString, Optional: true, Name: "io.debezium.data.Enum", Version: cd.Version(1),
		Params:  []cd.Param{{Key: "allowed", Value: "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"}},
		Default: "false"}
	sourceSchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.postgresql.Source", Version: cd.Version(1),
		Fields: []cd.Field{
			{Name: "version", Schema: cd.StringSchema},
			{Name: "connector", Schema: cd.StringSchema},
			{Name: "name", Schema: cd.StringSchema},
			{Name: "ts_ms", Schema: cd.Int64Schema},
			{Name: "snapshot", Schema: snapshotSchema},
			{Name: "db", Schema: cd.StringSchema},
			{Name: "sequence", Schema: cd.OptionalStringSchema},
			{Name: "ts_us", Schema: cd.OptionalInt64Schema},
			{Name: "ts_ns", Schema: cd.OptionalInt64Schema},
			{Name: "schema", Schema: cd.StringSchema},
			{Name: "table", Schema: cd.StringSchema},
			{Name: "txId", Schema: cd.OptionalInt64Schema},
			{Name: "lsn", Schema: cd.OptionalInt64Schema},
			{Name: "xmin", Schema: cd.OptionalInt64Schema},
			{Name: "origin", Schema: cd.OptionalStringSchema},
			{Name: "origin_lsn", Schema: cd.OptionalInt64Schema},
		}}
	transactionBlockSchema = &cd.Schema{Type: cd.TypeStruct, Optional: true, Name: "event.block", Version: cd.Version(1),
		Fields: []cd.Field{{Name: "id", Schema: cd.StringSchema}, {Name: "total_order", Schema: cd.Int64Schema}, {Name: "data_collection_order", Schema: cd.Int64Schema}}}
	messageValueSchema = &cd.Schema{Type: cd.TypeStruct, Name: "io.debezium.connector.postgresql.MessageValue", Version: cd.Version(1),
		Fields: []cd.Field{
			{Name: "op", Schema: cd.StringSchema},
			{Name: "ts_ms", Schema: cd.OptionalInt64Schema},
			{Name: "source", Schema: sourceSchema},
			{Name: "transaction", Schema: transactionBlockSchema},
			{Name: "message", Schema: messageBlockSchema},
		}}
)

// HeartbeatTopic returns the heartbeat topic: topic.heartbeat.name, or "<topic.heartbeat.prefix>.<topic.prefix>".
func (r *Router) HeartbeatTopic() string { return r.heartbeatTopic }

// Heartbeat returns the heartbeat record: topic "<topic.heartbeat.prefix>.<topic.prefix>", partition 0,
// key {"serverName": prefix} and value {"ts_ms": now} through the configured converters (not routed by the SMT).
// Heartbeats carry no headers; their Kafka timestamp is the producer's send time, given here as now.
func (r *Router) Heartbeat(now time.Time) (*Record, error) {
	key, err := structOf(heartbeatKeySchema, "serverName", r.prefix)
	if err != nil {
		return nil, err
	}
	value, err := structOf(heartbeatValueSchema, "ts_ms", now.UnixMilli())
	if err != nil {
		return nil, err
	}
	return r.passThrough(r.heartbeatTopic, 0, key, value, now)
}

// Message returns the record for a logical decoding message (pg_logical_emit_message) as Debezium's
// PostgreSQL connector emits it to "<topic.prefix>.message", passed through the router untouched; (nil, nil)
// when its prefix is excluded by message.prefix.exclude.list / not in message.prefix.include.list.
func (r *Router) Message(m LogicalMessage, now time.Time) (*Record, error) {
	included, err := r.messageIncluded(m.Prefix)
	if err != nil || !included {
		return nil, err
	}
	key, err := structOf(messageKeySchema, "prefix", m.Prefix)
	if err != nil {
		return nil, err
	}
	block, err := structOf(messageBlockSchema, "prefix", m.Prefix, "content", cd.ByteBuffer(m.Content))
	if err != nil {
		return nil, err
	}

	commit := m.CommitTime
	if commit.IsZero() {
		commit = now
	}
	var txID any
	if m.TxID != 0 {
		txID = int64(m.TxID)
	}
	lastCommit := "null"
	switch {
	case m.LastCommitLSN != 0:
		lastCommit = `"` + strconv.FormatUint(m.LastCommitLSN, 10) + `"`
	case !m.Transactional:
		lastCommit = `"` + strconv.FormatUint(m.LSN, 10) + `"`
	}
	sequence := "[" + lastCommit + `,"` + strconv.FormatUint(m.LSN, 10) + `"]`
	source, err := structOf(sourceSchema,
		"version", DebeziumVersion,
		"connector", "postgresql",
		"name", r.prefix,
		"ts_ms", commit.UnixMilli(),
		"db", r.dbName,
		"sequence", sequence,
		"ts_us", commit.UnixMicro(),
		"ts_ns", commit.UnixNano(),
		"schema", "",
		"table", "",
		"txId", txID,
		"lsn", int64(m.LSN),
	)
	if err != nil {
		return nil, err
	}
	value, err := structOf(messageValueSchema, "op", "m", "ts_ms", now.UnixMilli(), "source", source, "message", block)
	if err != nil {
		return nil, err
	}
	return r.passThrough(r.prefix+".message", -1, key, value, now)
}

func (r *Router) messageIncluded(prefix string) (bool, error) {
	matchAny := func(list []*javaregex.Regexp) (bool, error) {
		for _, re := range list {
			ok, err := re.Matches(prefix)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	switch {
	case r.msgInclude != nil:
		return matchAny(r.msgInclude)
	case r.msgExclude != nil:
		ok, err := matchAny(r.msgExclude)
		return !ok, err
	}
	return true, nil
}

// passThrough converts a record the SMT does not touch.
func (r *Router) passThrough(topic string, partition int32, key, value *cd.Struct, now time.Time) (*Record, error) {
	rec := &Record{Topic: topic, Partition: partition, Timestamp: time.UnixMilli(now.UnixMilli())}
	var err error
	if rec.Key, err = r.key.FromConnectData(key.Schema(), key); err != nil {
		return nil, err
	}
	if rec.Value, err = r.value.FromConnectData(value.Schema(), value); err != nil {
		return nil, err
	}
	return rec, nil
}

// structOf builds a struct from name/value pairs.
func structOf(s *cd.Schema, kv ...any) (*cd.Struct, error) {
	st, err := cd.NewStruct(s)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(kv); i += 2 {
		if err := st.Put(kv[i].(string), kv[i+1]); err != nil {
			return nil, err
		}
	}
	return st, nil
}
