package eventrouter

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/converter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/jackson"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javaregex"
)

// Java exception classes the router reports besides connectdata's.
const (
	illegalStateClass    = "java.lang.IllegalStateException"
	illegalArgumentClass = "java.lang.IllegalArgumentException"
	invalidRecordClass   = "org.apache.kafka.common.InvalidRecordException"
	invalidTopicClass    = "org.apache.kafka.common.errors.InvalidTopicException"
)

// envelopeCacheSize is the size of the EventRouter's payload-schema cache (BoundedConcurrentHashMap(10000)).
const envelopeCacheSize = 10000

// topicCacheSize bounds the cache of topics by routed value: outbox tables route by a handful of aggregate types, so
// the regex work runs once per value; a table routing by something unbounded just starts the cache over.
const topicCacheSize = 1024

// Router turns captured outbox rows into the Kafka records Debezium's PostgreSQL connector, its Outbox Event Router
// and the configured Kafka Connect converters would produce. It is safe for concurrent use, but records must be
// routed in commit order for the envelope-schema cache to behave like Debezium's.
type Router struct {
	name            string
	prefix          string
	delimiter       string
	heartbeatTopic  string
	dbName          string
	extendedHeaders bool
	truncateFails   bool
	runID           string
	cfg             routerConfig
	key, value      converter.Converter
	header          converter.Converter
	msgInclude      []*javaregex.Regexp
	msgExclude      []*javaregex.Regexp

	log *slog.Logger // where the router logs what Debezium logs (skipped updates, failed JSON expansion)

	mu           sync.Mutex
	envByPayload map[string]*envEntry // the SMT's payloadSchemaCache
	envTick      uint64
	envByVersion map[string]*cd.Schema // the SMT's versionedValueSchema

	topicMu sync.Mutex
	topics  map[string]string // routed value -> valid topic
}

type envEntry struct {
	schema *cd.Schema
	used   uint64
}

func (r *Router) init() {
	r.envByPayload = map[string]*envEntry{}
	r.envByVersion = map[string]*cd.Schema{}
	r.topics = map[string]string{}
}

// RunID returns the random UUID this router sends as the __debezium.context.runId header. A router stands for one
// task start: create a new one with New when the connector task restarts.
func (r *Router) RunID() string { return r.runID }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0F | 0x40
	b[8] = b[8]&0x3F | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// topicName is Debezium's data-change topic for the table (SchemaTopicNamingStrategy), also the prefix of its
// record schema names.
func (r *Router) topicName(schema, table string) string {
	var parts []string
	for _, p := range []string{r.prefix, schema, table} {
		if strings.TrimSpace(p) != "" {
			parts = append(parts, p)
		}
	}
	return sanitizeTopic(strings.Join(parts, r.delimiter))
}

// sanitizeTopic is AbstractTopicNamingStrategy.sanitizedTopicName: invalid characters (per UTF-16 unit) become '_'.
func sanitizeTopic(name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c == '.' || c == '_' || c == '-' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			b.WriteRune(c)
		case c >= 0x10000:
			b.WriteString("__")
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	switch {
	case len(s) > 249:
		s = s[:249]
	case s == ".":
		s = "_"
	case s == "..":
		s = "__"
	}
	return s
}

// row is the "after" struct of the Debezium change event: every column with its Connect schema and value.
type row struct {
	cols []Column
	// fields[i] is column i; the first rowBuffered live in the row itself, the rest in more.
	fields [rowBuffered]rowField
	more   []rowField
}

// rowBuffered is how many columns a row holds without allocating: an outbox table has fewer.
const rowBuffered = 12

type rowField struct {
	schema *cd.Schema
	value  any
	err    error // conversion problem, reported when the field is read
}

// init converts every column of cols, a row of a change with operation op, into rw.
func (rw *row) init(cols []Column, op Op) error {
	rw.cols = cols
	if len(cols) > rowBuffered {
		rw.more = make([]rowField, len(cols)-rowBuffered)
	}
	for i := range cols {
		c := &cols[i]
		f := rw.field(i)
		s, err := columnSchema(c)
		if err != nil {
			f.err = err // only a problem if the router reads the column
			continue
		}
		v, err := rowValue(c, s, op)
		if err != nil {
			if ex := (*cd.Exception)(nil); errors.As(err, &ex) {
				// Debezium converts every column; a value it cannot convert fails the task even if unused.
				return err
			}
		}
		*f = rowField{schema: s, value: v, err: err}
	}
	return nil
}

func (rw *row) field(i int) *rowField {
	if i < rowBuffered {
		return &rw.fields[i]
	}
	return &rw.more[i-rowBuffered]
}

func (rw *row) index(name string) int {
	for i := range rw.cols {
		if rw.cols[i].Name == name {
			return i
		}
	}
	return -1
}

func (rw *row) has(name string) bool { return rw.index(name) >= 0 }

// get is Struct.get(name) on the after struct.
func (rw *row) get(name string) (*rowField, error) {
	i := rw.index(name)
	if i < 0 {
		return nil, cd.Errorf(cd.DataExceptionClass, "%s is not a valid field name", name)
	}
	f := rw.field(i)
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// getTyped is Struct.getString/getInt32/getInt64: the field must have the given type.
func (rw *row) getTyped(name string, t cd.Type) (*rowField, error) {
	f, err := rw.get(name)
	if err != nil {
		return nil, err
	}
	if f.schema.Type != t {
		return nil, cd.Errorf(cd.DataExceptionClass, "Field '%s' is not of type %s", name, t)
	}
	return f, nil
}

// keyStruct builds a Debezium key struct from primary-key columns.
func (r *Router) keyStruct(ch *Change, cols []Column) (*cd.Struct, *cd.Schema, error) {
	s := &cd.Schema{Type: cd.TypeStruct, Name: r.topicName(ch.Schema, ch.Table) + ".Key"}
	var vals []any
	for i := range cols {
		c := &cols[i]
		cs, err := columnSchema(c)
		if err != nil {
			return nil, nil, err
		}
		v, err := columnValue(c, cs)
		if err != nil {
			return nil, nil, err
		}
		s.Fields = append(s.Fields, cd.Field{Name: c.Name, Schema: cs})
		vals = append(vals, v)
	}
	if len(s.Fields) == 0 {
		return nil, nil, nil
	}
	st, err := cd.NewStruct(s)
	if err != nil {
		return nil, nil, err
	}
	for i, f := range s.Fields {
		if err := st.Put(f.Name, vals[i]); err != nil {
			return nil, nil, err
		}
	}
	return st, s, nil
}

// Route applies the EventRouter to a change. (nil, nil) = dropped (update/delete/truncate per the contract,
// with the warn/error/fatal behaviour of table.op.invalid.behavior; fatal => error). A non-nil error means the
// connector task must FAIL; its text becomes the task's trace (it reads like the Java exception Debezium or Kafka
// Connect would throw, e.g. "org.apache.kafka.connect.errors.DataException: ...").
// now is the processing time (Debezium's envelope ts_ms) used when no timestamp column is configured/null.
// The __debezium.context.runId header carries RunID().
// Route keeps nothing of ch once it returns, and the record shares no memory with it: callers may reuse the
// columns and the buffers their values point into.
func (r *Router) Route(ch Change, now time.Time) (*Record, error) {
	switch ch.Op {
	case OpDelete:
		return nil, nil
	case OpTruncate:
		if r.truncateFails {
			return nil, cd.Errorf(cd.DataExceptionClass, "Only Struct objects supported for [Read Outbox Event], found: null")
		}
		return nil, nil
	case OpUpdate:
		if len(ch.OldKey) == 0 {
			return nil, r.unexpectedUpdate(&ch)
		}
		// A primary-key change: Debezium emits delete + create; the router drops the delete and routes the create.
	case OpCreate, OpRead:
	default:
		return nil, fmt.Errorf("walrelay: unknown change operation %q", rune(ch.Op))
	}
	return r.route(&ch, now)
}

func (r *Router) unexpectedUpdate(ch *Change) error {
	keyText := "null" // String.format("%s", r.key()) of the record's key struct
	if key, _, err := r.keyStruct(ch, keyColumns(ch.After)); err == nil && key != nil {
		if s, err := cd.JavaString(key); err == nil {
			keyText = s
		}
	}
	switch r.cfg.opInvalid {
	case opWarn:
		r.log.Warn("Unexpected update message received " + keyText + " and ignored")
	case opError:
		r.log.Error("Unexpected update message received " + keyText + " and ignored")
	case opFatal:
		return cd.Errorf(illegalStateClass, "Unexpected update message received %s, fail.", keyText)
	}
	return nil
}

func keyColumns(cols []Column) []Column {
	var out []Column
	for _, c := range cols {
		if c.Key {
			out = append(out, c)
		}
	}
	return out
}

type connectHeader struct {
	key    string
	schema *cd.Schema
	value  any
}

func (r *Router) route(ch *Change, now time.Time) (*Record, error) {
	cfg := &r.cfg
	nowMs := now.UnixMilli()
	var row row
	if err := row.init(ch.After, ch.Op); err != nil {
		return nil, err
	}
	rw := &row

	if !rw.has(cfg.fieldPayload) {
		return nil, cd.Errorf(cd.ConnectExceptionClass, "Unable to find payload field %s in event", cfg.fieldPayload)
	}
	timestamp, err := r.eventTimestamp(rw, nowMs)
	if err != nil {
		return nil, err
	}
	idField, err := rw.get(cfg.fieldID)
	if err != nil {
		return nil, err
	}

	var headerBuf [8]connectHeader
	headers := headerBuf[:0]
	if ch.Op == OpUpdate {
		oldKey, oldKeySchema, err := r.keyStruct(ch, ch.OldKey)
		if err != nil {
			return nil, err
		}
		headers = append(headers, connectHeader{"__debezium.oldkey", oldKeySchema, oldKey})
	}
	if r.extendedHeaders {
		for _, h := range [][2]string{
			{"__debezium.context.connectorLogicalName", r.prefix},
			{"__debezium.context.taskId", "0"},
			{"__debezium.context.connectorName", "postgresql"},
			{"__debezium.context.runId", r.runID},
		} {
			headers = append(headers, connectHeader{h[0], cd.StringSchema, h[1]})
		}
	}
	headers = append(headers, connectHeader{"id", idField.schema, idField.value})

	payloadField, err := rw.get(cfg.fieldPayload)
	if err != nil {
		return nil, err
	}
	payloadSchema, payload := payloadField.schema, payloadField.value
	if cfg.expand {
		payloadSchema, payload = r.expand(payloadSchema, payload)
	}

	var envelope *cd.Struct
	if cfg.hasEnvelope {
		routed, err := rw.getTyped(cfg.routeBy, cd.TypeString)
		if err != nil {
			return nil, err
		}
		routedText := "null"
		if routed.value != nil {
			routedText = routed.value.(string)
		}
		var version *int32
		if cfg.fieldVersion != "" {
			vf, err := rw.getTyped(cfg.fieldVersion, cd.TypeInt32)
			if err != nil {
				return nil, err
			}
			if vf.value != nil {
				version = cd.Version(vf.value.(int32))
			}
		}
		envSchema, err := r.envelopeSchema(ch, rw, payloadSchema, routedText, version)
		if err != nil {
			return nil, err
		}
		if envelope, err = cd.NewStruct(envSchema); err != nil {
			return nil, err
		}
		if err := envelope.Put("payload", payload); err != nil {
			return nil, err
		}
	}

	var partition *int32
	for _, af := range cfg.additional {
		if cfg.missingIgnore && !rw.has(af.field) {
			continue
		}
		switch af.place {
		case placeEnvelope:
			f, err := rw.get(af.field)
			if err != nil {
				return nil, err
			}
			if err := envelope.Put(af.alias, f.value); err != nil {
				return nil, err
			}
		case placeHeader:
			f, err := rw.get(af.field)
			if err != nil {
				return nil, err
			}
			headers = append(headers, connectHeader{af.alias, f.schema, f.value})
		case placePartition:
			f, err := rw.getTyped(af.field, cd.TypeInt32)
			if err != nil {
				return nil, err
			}
			partition = nil
			if f.value != nil {
				p := f.value.(int32)
				partition = &p
			}
		}
	}

	isEmpty := payload == nil
	if s, ok := payload.(string); ok && javafmt.Trim(s) == "" {
		isEmpty = true
	}
	var valueSchema *cd.Schema
	var value any
	switch {
	case isEmpty && cfg.tombstoneOnEmpty:
	case !cfg.hasEnvelope:
		valueSchema, value = payloadSchema, payload
	default:
		valueSchema, value = envelope.Schema(), envelope
	}

	keyField, err := rw.get(cfg.fieldKey)
	if err != nil {
		return nil, err
	}

	routed, err := rw.getTyped(cfg.routeBy, cd.TypeString)
	if err != nil {
		return nil, err
	}
	if routed.value == nil {
		return nil, cd.Errorf(cd.NullPointerExceptionClass, "Cannot invoke \"java.lang.CharSequence.length()\" because \"this.text\" is null")
	}
	topic, err := r.routeTopic(routed.value.(string))
	if err != nil {
		return nil, err
	}

	rec := newRecord(len(headers))
	rec.Topic, rec.Partition = topic, -1
	for i, h := range headers {
		b, err := r.header.FromConnectData(h.schema, h.value)
		if err != nil {
			return nil, err
		}
		rec.Headers[i] = Header{Key: h.key, Value: b}
	}
	if rec.Key, err = r.key.FromConnectData(keyField.schema, keyField.value); err != nil {
		return nil, err
	}
	if rec.Value, err = r.value.FromConnectData(valueSchema, value); err != nil {
		return nil, err
	}
	// new ProducerRecord(...) checks the partition, then Connect checks the timestamp.
	if partition != nil {
		if *partition < 0 {
			return nil, cd.Errorf(illegalArgumentClass, "Invalid partition: %d. Partition number should always be non-negative or null.", *partition)
		}
		rec.Partition = *partition
	}
	switch {
	case timestamp >= 0:
		rec.Timestamp = time.UnixMilli(timestamp)
	case timestamp == -1: // RecordBatch.NO_TIMESTAMP: the producer stamps the send time
		rec.Timestamp = time.UnixMilli(nowMs)
	default:
		return nil, cd.Errorf(invalidRecordClass, "Invalid record timestamp %d", timestamp)
	}
	return rec, nil
}

// newRecord returns a record with n headers, allocated with it when there are few.
func newRecord(n int) *Record {
	if n > 4 {
		return &Record{Headers: make([]Header, n)}
	}
	b := &struct {
		rec     Record
		headers [4]Header
	}{}
	b.rec.Headers = b.headers[:n]
	return &b.rec
}

// eventTimestamp is EventRouterDelegate.getEventTimestampMs.
func (r *Router) eventTimestamp(rw *row, nowMs int64) (int64, error) {
	name := r.cfg.fieldTimestamp
	if name == "" {
		return nowMs, nil
	}
	if !rw.has(name) {
		return 0, cd.Errorf(cd.ConnectExceptionClass, "Unable to find timestamp field %s in event", name)
	}
	f, err := rw.getTyped(name, cd.TypeInt64)
	if err != nil {
		return 0, err
	}
	if f.value == nil {
		return nowMs, nil
	}
	v := f.value.(int64)
	switch f.schema.Name {
	case "":
		return 0, cd.Errorf(cd.ConnectExceptionClass, "Unsupported field type %s (without logical schema name) for event timestamp", f.schema.Type)
	case timestampName:
		return v, nil
	case microTimestampName:
		return v / 1000, nil // Java long division truncates toward zero
	default:
		return 0, cd.Errorf(cd.ConnectExceptionClass, "Unsupported field type %s for event timestamp", f.schema.Name)
	}
}

// routeTopic is Kafka's RegexRouter: a full match decides, then replaceFirst on the leftmost match. Valid topics are
// cached by value.
func (r *Router) routeTopic(value string) (string, error) {
	r.topicMu.Lock()
	topic, ok := r.topics[value]
	r.topicMu.Unlock()
	if ok {
		return topic, nil
	}
	topic, err := r.regexTopic(value)
	if err != nil {
		return "", err
	}
	r.topicMu.Lock()
	if len(r.topics) >= topicCacheSize {
		clear(r.topics)
	}
	r.topics[value] = topic
	r.topicMu.Unlock()
	return topic, nil
}

func (r *Router) regexTopic(value string) (string, error) {
	ok, err := r.cfg.regex.Matches(value)
	if err != nil {
		return "", fmt.Errorf("walrelay: route.topic.regex on %q: %w", value, err)
	}
	topic := value
	if ok {
		if topic, err = r.cfg.regex.ReplaceFirst(value, r.cfg.replacement); err != nil {
			return "", fmt.Errorf("walrelay: route.topic.regex on %q: %w", value, err)
		}
	}
	if err := validTopic(topic); err != nil {
		return "", err
	}
	return topic, nil
}

// validTopic applies Kafka's topic name rules, which the producer enforces when the record is sent.
func validTopic(t string) error {
	switch {
	case t == "":
		return cd.Errorf(invalidTopicClass, "Topic name is illegal, it can't be empty")
	case t == "." || t == "..":
		return cd.Errorf(invalidTopicClass, "Topic name cannot be \".\" or \"..\"")
	case len(t) > 249:
		return cd.Errorf(invalidTopicClass, "Topic name is illegal, it can't be longer than 249 characters, topic name: %s", t)
	case !topicNameRE.MatchString(t):
		return cd.Errorf(invalidTopicClass, "Topic name \"%s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", t)
	}
	return nil
}

// envelopeSchema is EventRouterDelegate.getValueSchema, with its two caches.
func (r *Router) envelopeSchema(ch *Change, rw *row, payloadSchema *cd.Schema, routed string, version *int32) (*cd.Schema, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	build := func() (*cd.Schema, error) {
		valueName := r.topicName(ch.Schema, ch.Table) + ".Value"
		i := strings.LastIndexByte(valueName, '.')
		s := &cd.Schema{Type: cd.TypeStruct, Name: valueName[:i+1] + routed + "." + valueName[i+1:], Version: version}
		s.Fields = append(s.Fields, cd.Field{Name: "payload", Schema: payloadSchema})
		for _, af := range r.cfg.additional {
			if af.place != placeEnvelope {
				continue
			}
			if !rw.has(af.field) {
				if !r.cfg.missingIgnore {
					return nil, cd.Errorf(cd.ConnectExceptionClass, "Unable to find field %s in event", af.field)
				}
				continue
			}
			f, err := rw.get(af.field)
			if err != nil {
				return nil, err
			}
			s.Fields = append(s.Fields, cd.Field{Name: af.alias, Schema: f.schema})
		}
		return s, nil
	}
	if r.cfg.fieldVersion != "" {
		key := "null"
		if version != nil {
			key = strconv.Itoa(int(*version))
		}
		if s, ok := r.envByVersion[key]; ok {
			return s, nil
		}
		s, err := build()
		if err != nil {
			return nil, err
		}
		r.envByVersion[key] = s
		return s, nil
	}
	if payloadSchema == nil {
		return nil, cd.Errorf(cd.NullPointerExceptionClass, "Cannot invoke \"Object.hashCode()\" because \"key\" is null")
	}
	key := payloadSchema.Key()
	r.envTick++
	if e, ok := r.envByPayload[key]; ok {
		e.used = r.envTick
		return e.schema, nil
	}
	s, err := build()
	if err != nil {
		return nil, err
	}
	if len(r.envByPayload) >= envelopeCacheSize {
		var oldest string
		var min uint64
		for k, e := range r.envByPayload {
			if oldest == "" || e.used < min {
				oldest, min = k, e.used
			}
		}
		delete(r.envByPayload, oldest)
	}
	r.envByPayload[key] = &envEntry{schema: s, used: r.envTick}
	return s, nil
}

// expand is the table.expand.json.payload step: it returns the payload schema and value to use.
func (r *Router) expand(schema *cd.Schema, payload any) (*cd.Schema, any) {
	s, ok := payload.(string)
	if !ok {
		if payload != nil {
			r.log.Warn("Expand JSON payload is turned on but payload is not a string")
		}
		return schema, payload
	}
	if !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
		r.log.Warn("JSON expansion failed", "error", "Unable to parse payload starting with '"+firstChar(s)+"'")
		return schema, payload
	}
	node, err := jackson.Parse(s)
	if err != nil {
		r.log.Warn("JSON expansion failed", "error", err.Error())
		return schema, payload
	}
	ex := expander{nullAsBytes: r.cfg.nullAsBytes}
	name := r.cfg.fieldPayload
	newSchema, err := ex.schema(&name, node)
	if err != nil {
		r.log.Warn("JSON expansion failed", "error", err.Error())
		return schema, payload
	}
	// Debezium assigns the inferred schema before converting the data: when the conversion fails, the original
	// string stays with the new schema (a JsonConverter then fails the task).
	value, err := ex.data(node, newSchema)
	if err != nil {
		r.log.Warn("JSON expansion failed", "error", err.Error())
		return newSchema, payload
	}
	return newSchema, value
}

func firstChar(s string) string {
	for _, c := range s {
		return string(c)
	}
	return ""
}
