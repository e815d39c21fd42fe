package eventrouter

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/configdef"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/converter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javaregex"
)

// Class names and aliases this package implements.
const (
	eventRouterClass      = "io.debezium.transforms.outbox.EventRouter"
	stringConverterClass  = "org.apache.kafka.connect.storage.StringConverter"
	jsonConverterClass    = "org.apache.kafka.connect.json.JsonConverter"
	byteArrayConvClass    = "org.apache.kafka.connect.converters.ByteArrayConverter"
	simpleHeaderConvClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
	topicNamingClass      = "io.debezium.schema.SchemaTopicNamingStrategy"
)

// Router keys (EventRouterConfigDefinition, ActivateTracingSpan) and their defaults.
const (
	keyRouteByField       = "route.by.field"
	keyRouteTopicRegex    = "route.topic.regex"
	keyRouteTopicRepl     = "route.topic.replacement"
	keyRouteTombstone     = "route.tombstone.on.empty.payload"
	keyFieldEventID       = "table.field.event.id"
	keyFieldEventKey      = "table.field.event.key"
	keyFieldEventType     = "table.field.event.type"
	keyFieldPayload       = "table.field.event.payload"
	keyFieldTimestamp     = "table.field.event.timestamp"
	keyFieldSchemaVersion = "table.field.event.schema.version"
	keyAdditionalPlace    = "table.fields.additional.placement"
	keyAdditionalMissing  = "table.field.additional.missing"
	keyAdditionalErrOld   = "table.fields.additional.error.on.missing"
	keyOpInvalid          = "table.op.invalid.behavior"
	keyExpandJSON         = "table.expand.json.payload"
	keyJSONNull           = "table.json.payload.null.behavior"
	keyJSONEmptyArray     = "table.json.payload.empty.array.behavior"
	keyTracingField       = "tracing.span.context.field"
	keyTracingOperation   = "tracing.operation.name"
	keyTracingOnly        = "tracing.with.context.field.only"
	keyFieldNameAdjust    = "field.name.adjustment.mode"

	defaultHeartbeatPrefix = "__debezium-heartbeat"
)

// ownedKeys are the connector keys New validates besides the prefixed families in Owns.
var ownedKeys = map[string]bool{
	"extended.headers.enabled":    true,
	"topic.prefix":                true,
	"topic.heartbeat.prefix":      true,
	"topic.heartbeat.name":        true,
	"topic.delimiter":             true,
	"topic.naming.strategy":       true,
	"topic.cache.size":            true,
	"message.prefix.include.list": true,
	"message.prefix.exclude.list": true,
}

// Owns reports whether New consumes (and validates) this connector config key: every key starting with
// "transforms", "predicates", "key.converter", "value.converter", "header.converter", plus
// "extended.headers.enabled", "topic.prefix", "topic.delimiter", "topic.heartbeat.prefix", "topic.heartbeat.name",
// "topic.naming.strategy", "topic.cache.size", "message.prefix.include.list", "message.prefix.exclude.list".
// The source task validates the remaining keys and rejects the ones nobody implements.
func Owns(key string) bool {
	if ownedKeys[key] {
		return true
	}
	for _, p := range []string{"transforms", "predicates", "key.converter", "value.converter", "header.converter"} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

type placement uint8

const (
	placeHeader placement = iota + 1
	placeEnvelope
	placePartition
)

type additionalField struct {
	place placement
	field string
	alias string
}

type opBehavior uint8

const (
	opWarn opBehavior = iota
	opError
	opFatal
)

// routerConfig is the parsed EventRouter configuration.
type routerConfig struct {
	fieldID, fieldKey, fieldPayload, fieldTimestamp, fieldVersion, routeBy string
	regex                                                                  *javaregex.Regexp
	replacement                                                            *javaregex.Replacement
	tombstoneOnEmpty                                                       bool
	opInvalid                                                              opBehavior
	expand                                                                 bool
	nullAsBytes                                                            bool // table.json.payload.null.behavior=optional_bytes
	additional                                                             []additionalField
	missingIgnore                                                          bool
	hasEnvelope                                                            bool
}

type configParser struct {
	conn   map[string]string
	worker map[string]string
	errs   []ConfigError
	used   map[string]bool
}

func (p *configParser) errorf(key, format string, args ...any) {
	p.errs = append(p.errs, ConfigError{Key: key, Message: fmt.Sprintf(format, args...)})
}

// get returns a connector value and marks the key as understood.
func (p *configParser) get(key string) (string, bool) {
	p.used[key] = true
	v, ok := p.conn[key]
	return v, ok
}

// boolean reads a BOOLEAN key as Kafka's ConfigDef does (see configdef.ParseBool).
func (p *configParser) boolean(key string, def bool) bool {
	p.used[key] = true
	b, err := configdef.Bool(p.conn, key, def)
	if err != nil {
		p.errorf(key, "%v", err)
	}
	return b
}

// enum reads a case-insensitive, trimmed choice (Debezium's EnumeratedValue.parse).
func (p *configParser) enum(key, def string, allowed ...string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(v), a) {
			return a
		}
	}
	p.errorf(key, "Value must be one of %s", strings.Join(allowed, ", "))
	return def
}

// column reads a column-name key. Debezium uses the raw value; an empty name can never match a column, so it is
// rejected here instead of failing every record.
func (p *configParser) column(key, def string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	if v == "" {
		p.errorf(key, "A column name is required")
	}
	return v
}

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)

func (p *configParser) topicPart(key, def string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	if !topicNameRE.MatchString(v) {
		p.errorf(key, "%s has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)", v)
		return def
	}
	return v
}

// New validates the router/converter/header part of a connector config and returns a router that logs what
// Debezium's router logs (skipped updates, failed JSON expansion) to log, which must not be nil. It returns every
// problem at once as []ConfigError (empty on success).
func New(connectorName string, config map[string]string, worker Worker, log *slog.Logger) (*Router, []ConfigError) {
	p := &configParser{conn: config, worker: worker.Props, used: map[string]bool{}}
	r := &Router{name: connectorName, log: log}

	if v, ok := p.get("topic.prefix"); !ok || strings.TrimSpace(v) == "" {
		p.errorf("topic.prefix", "The 'topic.prefix' value is invalid: A value is required")
	} else if !topicNameRE.MatchString(v) {
		p.errorf("topic.prefix", "%s has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)", v)
	} else {
		r.prefix = v
	}
	r.delimiter = p.topicPart("topic.delimiter", ".")
	hbPrefix := p.topicPart("topic.heartbeat.prefix", defaultHeartbeatPrefix)
	r.heartbeatTopic = hbPrefix + r.delimiter + r.prefix
	if name := p.topicPart("topic.heartbeat.name", ""); name != "" {
		r.heartbeatTopic = name
	}
	if v, ok := p.get("topic.naming.strategy"); ok && strings.TrimSpace(v) != topicNamingClass && strings.TrimSpace(v) != "SchemaTopicNamingStrategy" {
		p.errorf("topic.naming.strategy", "walrelay implements only %s, not %s", topicNamingClass, v)
	}
	if v, ok := p.get("topic.cache.size"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n <= 0 {
			p.errorf("topic.cache.size", "Invalid value %s for configuration topic.cache.size: must be a positive integer", v)
		}
	}
	r.extendedHeaders = p.boolean("extended.headers.enabled", true)
	r.dbName = config["database.dbname"] // owned by the source task; used for the source block of message records
	r.truncateFails = truncateReachesRouter(config["skipped.operations"])

	r.msgInclude = p.prefixList("message.prefix.include.list")
	r.msgExclude = p.prefixList("message.prefix.exclude.list")
	if r.msgInclude != nil && r.msgExclude != nil {
		p.errorf("message.prefix.exclude.list", "\"message.prefix.include.list\" is already specified")
	}

	p.transforms(r)
	if v, ok := p.get("predicates"); ok && strings.TrimSpace(v) != "" {
		p.errorf("predicates", "walrelay does not implement transformation predicates")
	}

	r.key = p.converter("key.converter", false)
	r.value = p.converter("value.converter", false)
	r.header = p.converter("header.converter", true)

	// Every owned key must have been understood.
	var unknown []string
	for k := range config {
		if Owns(k) && !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p.errorf(k, "Unknown configuration key; walrelay does not implement it (Kafka Connect or Debezium might honour it, so it is not ignored)")
	}

	if len(p.errs) > 0 {
		return nil, p.errs
	}
	r.runID = newUUID()
	r.init()
	return r, nil
}

// truncateReachesRouter reports whether skipped.operations lets truncates through (Debezium's default skips them).
func truncateReachesRouter(skipped string) bool {
	if strings.TrimSpace(skipped) == "" {
		return false
	}
	for _, op := range strings.Split(skipped, ",") {
		if strings.EqualFold(strings.TrimSpace(op), "t") {
			return false
		}
	}
	return true
}

// prefixList compiles a Debezium message prefix list: comma-separated (a backslash escapes the next character,
// "\," is a literal comma), items trimmed, each a case-insensitive regex that must match the whole prefix.
func (p *configParser) prefixList(key string) []*javaregex.Regexp {
	v, ok := p.get(key)
	if !ok || javafmt.Trim(v) == "" {
		return nil
	}
	var out []*javaregex.Regexp
	for _, item := range splitRegexList(v) {
		re, err := javaregex.Compile(item, javaregex.CaseInsensitive)
		if err != nil {
			p.errorf(key, "%v", err)
			continue
		}
		out = append(out, re)
	}
	if out == nil {
		out = []*javaregex.Regexp{}
	}
	return out
}

// splitRegexList is Debezium's Strings.RegExSplitter.
func splitRegexList(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ',':
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	var out []string
	for _, part := range parts {
		if part == "" {
			continue
		}
		out = append(out, strings.ReplaceAll(javafmt.Trim(part), `\,`, ","))
	}
	return out
}

// transforms parses "transforms" and the single EventRouter it must name.
func (p *configParser) transforms(r *Router) {
	list, _ := p.get("transforms")
	var aliases []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if slices.Contains(aliases, a) {
				p.errorf("transforms", "Duplicate alias provided.")
				return
			}
			aliases = append(aliases, a)
		}
	}
	if len(aliases) != 1 {
		p.errorf("transforms", "walrelay needs exactly one transformation, the outbox EventRouter (%s); got %d", eventRouterClass, len(aliases))
		for k := range p.conn {
			if strings.HasPrefix(k, "transforms.") {
				p.used[k] = true
			}
		}
		return
	}
	alias := aliases[0]
	prefix := "transforms." + alias + "."
	for k := range p.conn {
		if strings.HasPrefix(k, "transforms.") && !strings.HasPrefix(k, prefix) {
			p.used[k] = true
			p.errorf(k, "Kafka Connect ignores this key because its transformation is not listed in \"transforms\"; remove it")
		}
	}
	typeKey := prefix + "type"
	cls, ok := p.get(typeKey)
	switch strings.TrimSpace(cls) {
	case eventRouterClass, "EventRouter":
	default:
		for k := range p.conn {
			if strings.HasPrefix(k, prefix) {
				p.used[k] = true
			}
		}
		switch {
		case !ok:
			p.errorf(typeKey, "Missing required configuration \"%s\" which has no default value.", typeKey)
		case strings.TrimSpace(cls) == "":
			p.errorf(typeKey, "A value is required")
		default:
			p.errorf(typeKey, "walrelay implements only the transformation %s, not %s", eventRouterClass, strings.TrimSpace(cls))
		}
		return
	}
	if v, ok := p.get(prefix + "predicate"); ok && strings.TrimSpace(v) != "" {
		p.errorf(prefix+"predicate", "walrelay does not implement transformation predicates")
	}
	if v, ok := p.get(prefix + "negate"); ok && !strings.EqualFold(strings.TrimSpace(v), "false") {
		p.errorf(prefix+"negate", "walrelay does not implement transformation predicates")
	}
	sub := &configParser{conn: map[string]string{}, used: map[string]bool{}}
	for k, v := range p.conn {
		if strings.HasPrefix(k, prefix) {
			sub.conn[strings.TrimPrefix(k, prefix)] = v
		}
	}
	r.cfg = sub.router()
	for _, e := range sub.errs {
		p.errs = append(p.errs, ConfigError{Key: prefix + e.Key, Message: e.Message})
	}
	for k := range sub.conn {
		if sub.used[k] {
			p.used[prefix+k] = true
		}
	}
	p.used[typeKey] = true
}

// router parses the EventRouter's own keys (without the transforms.<alias>. prefix).
func (p *configParser) router() routerConfig {
	var c routerConfig
	c.fieldID = p.column(keyFieldEventID, "id")
	c.fieldKey = p.column(keyFieldEventKey, "aggregateid")
	p.column(keyFieldEventType, "type") // validated but never read, as in Debezium
	c.fieldPayload = p.column(keyFieldPayload, "payload")
	c.fieldTimestamp = p.column(keyFieldTimestamp, "")
	c.fieldVersion = p.column(keyFieldSchemaVersion, "")
	c.routeBy = p.column(keyRouteByField, "aggregatetype")

	regex := "(?<routedByValue>.*)"
	if v, ok := p.get(keyRouteTopicRegex); ok {
		regex = v
	}
	repl := "outbox.event.${routedByValue}"
	if v, ok := p.get(keyRouteTopicRepl); ok {
		repl = v
	}
	re, err := javaregex.Compile(regex, 0)
	if err != nil {
		p.errorf(keyRouteTopicRegex, "%v", err)
	} else {
		c.regex = re
		if c.replacement, err = re.ParseReplacement(repl); err != nil {
			p.errorf(keyRouteTopicRepl, "%v (for route.topic.regex %s)", err, regex)
		}
	}

	c.tombstoneOnEmpty = p.boolean(keyRouteTombstone, false)
	switch p.enum(keyOpInvalid, "warn", "warn", "error", "fatal") {
	case "error":
		c.opInvalid = opError
	case "fatal":
		c.opInvalid = opFatal
	}
	c.expand = p.boolean(keyExpandJSON, false)
	c.nullAsBytes = p.enum(keyJSONNull, "ignore", "ignore", "optional_bytes") == "optional_bytes"
	// Debezium 3.6 does not define these keys (the 3.7 empty-array behaviour, the boolean that
	// table.field.additional.missing replaced in 3.6), so its router ignores them whatever their value.
	p.get(keyJSONEmptyArray)
	p.get(keyAdditionalErrOld)
	if v, ok := p.get(keyFieldNameAdjust); ok && !strings.EqualFold(strings.TrimSpace(v), "none") {
		p.errorf(keyFieldNameAdjust, "walrelay implements only field.name.adjustment.mode=none, not %s", v)
	}

	c.missingIgnore = p.enum(keyAdditionalMissing, "error", "error", "ignore") == "ignore"

	c.additional = p.placements()
	for _, f := range c.additional {
		if f.place == placeEnvelope {
			c.hasEnvelope = true
		}
	}

	p.column(keyTracingField, "tracingspancontext")
	p.get(keyTracingOperation)
	p.boolean(keyTracingOnly, false)
	return c
}

// placements parses table.fields.additional.placement ("col:header[:alias]", "col:envelope[:alias]",
// "col:partition").
func (p *configParser) placements() []additionalField {
	v, ok := p.get(keyAdditionalPlace)
	if !ok || strings.TrimSpace(v) == "" {
		return nil
	}
	var out []additionalField
	aliases := map[string]bool{"payload": true}
	// Java's String.split drops trailing empty strings.
	entries := strings.Split(v, ",")
	for len(entries) > 0 && entries[len(entries)-1] == "" {
		entries = entries[:len(entries)-1]
	}
	for _, entry := range entries {
		parts := strings.Split(entry, ":")
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) != 2 && len(parts) != 3 {
			p.errorf(keyAdditionalPlace, "A comma-separated list of valid String pairs or trios is expected but got: %s", v)
			return nil
		}
		f := additionalField{field: javafmt.Trim(parts[0])}
		f.alias = f.field
		if len(parts) == 3 {
			f.alias = javafmt.Trim(parts[2])
		}
		switch strings.ToLower(javafmt.Trim(parts[1])) {
		case "header":
			f.place = placeHeader
		case "envelope":
			f.place = placeEnvelope
			if f.alias == "" || aliases[f.alias] {
				// Debezium fails every record on this (SchemaBuilder field name duplication / empty name).
				p.errorf(keyAdditionalPlace, "envelope field name %q is empty or used twice (the value struct always has a \"payload\" field)", f.alias)
			}
			aliases[f.alias] = true
		case "partition":
			f.place = placePartition
		default:
			p.errorf(keyAdditionalPlace, "Unknown placement %q in %q: use header, envelope or partition", javafmt.Trim(parts[1]), entry)
			continue
		}
		if f.field == "" {
			p.errorf(keyAdditionalPlace, "Empty column name in %q", entry)
			continue
		}
		out = append(out, f)
	}
	return out
}

// converter resolves a converter the way a Connect worker does: the connector's class and its prefixed
// properties if the connector sets the class, otherwise the worker's.
func (p *configParser) converter(kind string, header bool) converter.Converter {
	props, source := map[string]string{}, "connector"
	cls, ok := p.get(kind)
	prefix := kind + "."
	if ok {
		for k, v := range p.conn {
			if strings.HasPrefix(k, prefix) {
				props[k] = v
				p.used[k] = true
			}
		}
	} else {
		for k := range p.conn {
			if strings.HasPrefix(k, prefix) {
				p.used[k] = true
				p.errorf(k, "%s is not set in the connector, so Kafka Connect would ignore this key and use the worker's converter; set %s too or remove the key", kind, kind)
			}
		}
		source = "worker"
		for k, v := range p.worker {
			if strings.HasPrefix(k, prefix) {
				props[k] = v
			}
		}
		if wc, wok := p.worker[kind]; wok {
			cls = wc
		} else {
			// The Debezium connect image's defaults (its entrypoint always sets key.converter and value.converter).
			cls = jsonConverterClass
			if header {
				cls = simpleHeaderConvClass
			}
		}
	}
	errorf := func(key, format string, args ...any) {
		if source == "worker" {
			format = "worker property: " + format
		}
		p.errorf(key, format, args...)
	}
	allowed := map[string]bool{"converter.type": true}
	var conv converter.Converter
	switch strings.TrimSpace(cls) {
	case jsonConverterClass, "JsonConverter":
		jc := converter.JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}
		for k, v := range props {
			switch name := strings.TrimPrefix(k, prefix); name {
			case "schemas.enable":
				b, err := configdef.ParseBool(name, v)
				if err != nil {
					errorf(k, "%v", err)
				}
				jc.SchemasEnabled = b
			case "replace.null.with.default":
				b, err := configdef.ParseBool(name, v)
				if err != nil {
					errorf(k, "%v", err)
				}
				jc.ReplaceNullWithDefault = b
			case "decimal.format":
				switch strings.ToUpper(strings.TrimSpace(v)) {
				case "BASE64":
				case "NUMERIC":
					jc.DecimalNumeric = true
				default:
					errorf(k, "Invalid value %s for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC", v)
				}
			case "schemas.cache.size":
				if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
					errorf(k, "Invalid value %s for configuration schemas.cache.size: Not a number of type INT", v)
				}
			}
		}
		allowed["schemas.enable"], allowed["replace.null.with.default"], allowed["decimal.format"], allowed["schemas.cache.size"] = true, true, true, true
		conv = jc
	case stringConverterClass, "StringConverter":
		allowed["converter.encoding"] = true
		if v, ok := props[prefix+"converter.encoding"]; ok {
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "UTF8", "UTF-8":
			default:
				errorf(prefix+"converter.encoding", "walrelay implements StringConverter with UTF-8 only, not %s", v)
			}
		}
		conv = converter.StringConverter{}
	case byteArrayConvClass, "ByteArrayConverter":
		conv = converter.ByteArrayConverter{}
	case simpleHeaderConvClass, "SimpleHeaderConverter":
		if !header {
			errorf(kind, "%s is a header converter, not a Converter", cls)
			return nil
		}
		conv = converter.SimpleHeaderConverter{}
	default:
		errorf(kind, "walrelay implements %s, %s, %s and (headers only) %s, not %s", stringConverterClass, jsonConverterClass, byteArrayConvClass, simpleHeaderConvClass, strings.TrimSpace(cls))
		return nil
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !allowed[strings.TrimPrefix(k, prefix)] {
			errorf(k, "Unknown property for %s; walrelay does not implement it", strings.TrimSpace(cls))
		}
	}
	return conv
}
