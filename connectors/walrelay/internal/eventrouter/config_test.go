package eventrouter

import (
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/converter"
)

// emptyValue stands for a key set to "" (baseConfig deletes keys given as "").
const emptyValue = "<empty>"

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]string
		key   string // the key the error must name
		msg   string // a fragment of its message
	}{
		{"missing topic.prefix", map[string]string{"topic.prefix": ""}, "topic.prefix", "A value is required"},
		{"invalid topic.prefix", map[string]string{"topic.prefix": "my app"}, "topic.prefix", "invalid format"},
		{"no transforms", map[string]string{"transforms": "", rk("type"): ""}, "transforms", "exactly one"},
		{"two transforms", map[string]string{"transforms": "outbox,unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"}, "transforms", "exactly one"},
		{"duplicate alias", map[string]string{"transforms": "outbox,outbox"}, "transforms", "Duplicate alias"},
		{"other transform type", map[string]string{rk("type"): "io.debezium.transforms.ExtractNewRecordState"}, rk("type"), "io.debezium.transforms.ExtractNewRecordState"},
		{"missing type", map[string]string{rk("type"): ""}, rk("type"), "Missing required configuration"},
		{"unlisted transform keys", map[string]string{"transforms.other.type": "x"}, "transforms.other.type", "not listed"},
		{"unknown router key", map[string]string{rk("route.topic.regexp"): "x"}, rk("route.topic.regexp"), "Unknown configuration key"},
		{"invalid regex", map[string]string{rk("route.topic.regex"): "(?<routedByValue>.*"}, rk("route.topic.regex"), "Unclosed group"},
		{"java-only regex", map[string]string{rk("route.topic.regex"): `(\w)\1`}, rk("route.topic.regex"), "Backreferences"},
		{"replacement names a missing group", map[string]string{rk("route.topic.regex"): "(.*)"}, rk("route.topic.replacement"), "No group with name {routedByValue}"},
		{"replacement trailing backslash", map[string]string{rk("route.topic.replacement"): `x\`}, rk("route.topic.replacement"), "character to be escaped is missing"},
		{"bad boolean", map[string]string{rk("route.tombstone.on.empty.payload"): "yes"}, rk("route.tombstone.on.empty.payload"), "true or false"},
		{"blank boolean", map[string]string{rk("route.tombstone.on.empty.payload"): emptyValue}, rk("route.tombstone.on.empty.payload"), "Invalid value  for configuration route.tombstone.on.empty.payload: Expected value to be either true or false"},
		{"whitespace boolean", map[string]string{rk("table.expand.json.payload"): " \t"}, rk("table.expand.json.payload"), "Invalid value  \t for configuration table.expand.json.payload: Expected value to be either true or false"},
		{"bad op behaviour", map[string]string{rk("table.op.invalid.behavior"): "ignore"}, rk("table.op.invalid.behavior"), "warn, error, fatal"},
		{"bad null behaviour", map[string]string{rk("table.json.payload.null.behavior"): "keep"}, rk("table.json.payload.null.behavior"), "ignore, optional_bytes"},
		{"bad missing behaviour", map[string]string{rk("table.field.additional.missing"): "skip"}, rk("table.field.additional.missing"), "error, ignore"},
		{"placement without kind", map[string]string{rk("table.fields.additional.placement"): "type"}, rk("table.fields.additional.placement"), "pairs or trios"},
		{"placement with four parts", map[string]string{rk("table.fields.additional.placement"): "a:header:b:c"}, rk("table.fields.additional.placement"), "pairs or trios"},
		{"unknown placement", map[string]string{rk("table.fields.additional.placement"): "type:body"}, rk("table.fields.additional.placement"), "Unknown placement"},
		{"envelope alias payload", map[string]string{rk("table.fields.additional.placement"): "type:envelope:payload"}, rk("table.fields.additional.placement"), "used twice"},
		{"empty column name", map[string]string{rk("table.field.event.key"): emptyValue}, rk("table.field.event.key"), "column name is required"},
		{"field name adjustment", map[string]string{rk("field.name.adjustment.mode"): "avro"}, rk("field.name.adjustment.mode"), "none"},
		{"predicate", map[string]string{rk("predicate"): "isOutbox"}, rk("predicate"), "predicates"},
		{"predicates", map[string]string{"predicates": "isOutbox"}, "predicates", "predicates"},
		{"unknown converter", map[string]string{"value.converter": "io.confluent.connect.avro.AvroConverter"}, "value.converter", "AvroConverter"},
		{"header converter as value converter", map[string]string{"value.converter": "org.apache.kafka.connect.storage.SimpleHeaderConverter"}, "value.converter", "header converter"},
		{"unknown converter property", map[string]string{"value.converter": jsonConv, "value.converter.schema.enable": "false"}, "value.converter.schema.enable", "Unknown property"},
		{"converter property without class", map[string]string{"key.converter": "", "key.converter.schemas.enable": "false"}, "key.converter.schemas.enable", "Kafka Connect would ignore"},
		{"bad schemas.enable", map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": "off"}, "value.converter.schemas.enable", "true or false"},
		{"blank schemas.enable", map[string]string{"value.converter": jsonConv, "value.converter.schemas.enable": " "}, "value.converter.schemas.enable", "Invalid value   for configuration schemas.enable: Expected value to be either true or false"},
		{"bad replace.null.with.default", map[string]string{"value.converter": jsonConv, "value.converter.replace.null.with.default": "no"}, "value.converter.replace.null.with.default", "Invalid value no for configuration replace.null.with.default: Expected value to be either true or false"},
		{"bad decimal.format", map[string]string{"value.converter": jsonConv, "value.converter.decimal.format": "STRING"}, "value.converter.decimal.format", "BASE64, NUMERIC"},
		{"string converter encoding", map[string]string{"key.converter.converter.encoding": "ISO-8859-1"}, "key.converter.converter.encoding", "UTF-8 only"},
		{"both message lists", map[string]string{"message.prefix.include.list": "a", "message.prefix.exclude.list": "b"}, "message.prefix.exclude.list", "already specified"},
		{"bad message regex", map[string]string{"message.prefix.exclude.list": "a,(b"}, "message.prefix.exclude.list", "Unclosed group"},
		{"bad extended headers flag", map[string]string{"extended.headers.enabled": "1"}, "extended.headers.enabled", "true or false"},
		{"blank extended headers flag", map[string]string{"extended.headers.enabled": emptyValue}, "extended.headers.enabled", "Expected value to be either true or false"},
		{"naming strategy", map[string]string{"topic.naming.strategy": "io.debezium.schema.DefaultTopicNamingStrategy"}, "topic.naming.strategy", "SchemaTopicNamingStrategy"},
		{"bad heartbeat prefix", map[string]string{"topic.heartbeat.prefix": "heart beat"}, "topic.heartbeat.prefix", "invalid format"},
		{"unknown owned key", map[string]string{"key.converterx": "y"}, "key.converterx", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.extra)
			for k, v := range cfg {
				if v == emptyValue {
					cfg[k] = ""
				}
			}
			r, errs := New("c", cfg, Worker{}, discardLog)
			if r != nil || len(errs) == 0 {
				t.Fatalf("New accepted the configuration")
			}
			for _, e := range errs {
				if e.Key == tc.key && strings.Contains(e.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("no error for %s mentioning %q; got %v", tc.key, tc.msg, errs)
		})
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, errs := New("c", baseConfig(map[string]string{"topic.prefix": "", rk("table.op.invalid.behavior"): "x", "value.converter": "Avro"}), Worker{}, discardLog)
	if len(errs) != 3 {
		t.Fatalf("want 3 errors, got %v", errs)
	}
}

func TestConfigAccepts(t *testing.T) {
	cfg := baseConfig(map[string]string{
		rk("type"):                              "EventRouter",
		rk("route.by.field"):                    "destination",
		rk("route.topic.regex"):                 "(?<routedByValue>.*)",
		rk("route.topic.replacement"):           "${routedByValue}.events",
		rk("route.tombstone.on.empty.payload"):  " TRUE ",
		rk("table.field.event.id"):              "event_id",
		rk("table.field.event.key"):             "aggregate_id",
		rk("table.field.event.type"):            "event_type",
		rk("table.field.event.payload"):         "body",
		rk("table.field.event.timestamp"):       "created_at",
		rk("table.field.event.schema.version"):  "version",
		rk("table.fields.additional.placement"): "event_type:header:eventType, tenant:envelope, shard:partition,",
		rk("table.field.additional.missing"):    "IGNORE",
		rk("table.op.invalid.behavior"):         "Fatal",
		rk("table.expand.json.payload"):         "false",
		rk("table.json.payload.null.behavior"):  "optional_bytes",
		// Keys Debezium 3.6 does not define: accepted with any value, without effect.
		rk("table.json.payload.empty.array.behavior"):  "keep",
		rk("table.fields.additional.error.on.missing"): "nope",
		rk("tracing.span.context.field"):               "trace",
		rk("tracing.operation.name"):                   "read",
		rk("tracing.with.context.field.only"):          "true",
		rk("field.name.adjustment.mode"):               "none",
		rk("predicate"):                                "",
		"key.converter":                                "JsonConverter",
		"key.converter.schemas.enable":                 "false",
		"key.converter.decimal.format":                 "numeric",
		"key.converter.replace.null.with.default":      "false",
		"key.converter.schemas.cache.size":             "100",
		"value.converter":                              bytesConv,
		"header.converter":                             "StringConverter",
		"header.converter.converter.encoding":          "utf8",
		"message.prefix.exclude.list":                  "heartbeat, other\\,name",
		"topic.delimiter":                              "_",
		"topic.heartbeat.prefix":                       "hb",
		"topic.naming.strategy":                        "io.debezium.schema.SchemaTopicNamingStrategy",
		"topic.cache.size":                             "10",
		// Keys owned by the source task are left alone.
		"database.hostname": "localhost", "tombstones.on.delete": "false",
	})
	r, errs := New("c", cfg, Worker{}, discardLog)
	if len(errs) > 0 {
		t.Fatalf("New: %v", errs)
	}
	c := r.cfg
	if c.routeBy != "destination" || c.fieldID != "event_id" || c.fieldKey != "aggregate_id" || c.fieldPayload != "body" ||
		c.fieldTimestamp != "created_at" || c.fieldVersion != "version" || !c.tombstoneOnEmpty || c.opInvalid != opFatal ||
		c.expand || !c.nullAsBytes || !c.missingIgnore || !c.hasEnvelope {
		t.Errorf("parsed config %+v", c)
	}
	want := []additionalField{{placeHeader, "event_type", "eventType"}, {placeEnvelope, "tenant", "tenant"}, {placePartition, "shard", "shard"}}
	if len(c.additional) != len(want) {
		t.Fatalf("placements %+v", c.additional)
	}
	for i := range want {
		if c.additional[i] != want[i] {
			t.Errorf("placement %d = %+v, want %+v", i, c.additional[i], want[i])
		}
	}
	if jc, ok := r.key.(converter.JSONConverter); !ok || jc.SchemasEnabled || !jc.DecimalNumeric || jc.ReplaceNullWithDefault {
		t.Errorf("key converter %#v", r.key)
	}
	if _, ok := r.value.(converter.ByteArrayConverter); !ok {
		t.Errorf("value converter %#v", r.value)
	}
	if _, ok := r.header.(converter.StringConverter); !ok {
		t.Errorf("header converter %#v", r.header)
	}
	if r.HeartbeatTopic() != "hb_app" {
		t.Errorf("heartbeat topic %q", r.HeartbeatTopic())
	}
	if len(r.msgExclude) != 2 || r.msgExclude[1].String() != "other,name" {
		t.Errorf("message exclude list %v", r.msgExclude)
	}
}

func TestConverterResolution(t *testing.T) {
	noConv := map[string]string{"key.converter": "", "value.converter": ""}
	tests := []struct {
		name           string
		extra          map[string]string
		worker         map[string]string
		wantKey        converter.Converter
		wantValue      converter.Converter
		wantHeaderType string
	}{
		{"image defaults", noConv, nil,
			converter.JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}, converter.JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}, "simple"},
		{"worker props", noConv, map[string]string{"key.converter": stringConv, "value.converter": jsonConv, "value.converter.schemas.enable": "false", "header.converter": jsonConv, "bootstrap.servers": "x"},
			converter.StringConverter{}, converter.JSONConverter{ReplaceNullWithDefault: true}, "json"},
		{"worker props without class use the image's class", noConv, map[string]string{"value.converter.schemas.enable": "false"},
			converter.JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}, converter.JSONConverter{ReplaceNullWithDefault: true}, "simple"},
		{"connector overrides worker, ignoring the worker's converter props",
			map[string]string{"key.converter": "", "value.converter": jsonConv},
			map[string]string{"key.converter": stringConv, "value.converter": jsonConv, "value.converter.schemas.enable": "false"},
			converter.StringConverter{}, converter.JSONConverter{SchemasEnabled: true, ReplaceNullWithDefault: true}, "simple"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, errs := New("c", baseConfig(tc.extra), Worker{Props: tc.worker}, discardLog)
			if len(errs) > 0 {
				t.Fatalf("New: %v", errs)
			}
			if r.key != tc.wantKey || r.value != tc.wantValue {
				t.Errorf("key %#v value %#v", r.key, r.value)
			}
			switch r.header.(type) {
			case converter.SimpleHeaderConverter:
				if tc.wantHeaderType != "simple" {
					t.Errorf("header converter %#v", r.header)
				}
			case converter.JSONConverter:
				if tc.wantHeaderType != "json" {
					t.Errorf("header converter %#v", r.header)
				}
			}
		})
	}
}

func TestOwns(t *testing.T) {
	for key, want := range map[string]bool{
		"transforms": true, "transforms.outbox.route.by.field": true, "predicates": true, "key.converter": true,
		"value.converter.schemas.enable": true, "header.converter": true, "extended.headers.enabled": true,
		"topic.prefix": true, "topic.heartbeat.prefix": true, "topic.delimiter": true, "message.prefix.include.list": true,
		"message.prefix.exclude.list": true, "topic.heartbeat.name": true,
		"database.hostname": false, "topic.creation.default.partitions": false, "skipped.operations": false,
		"tombstones.on.delete": false, "name": false, "heartbeat.interval.ms": false,
	} {
		if got := Owns(key); got != want {
			t.Errorf("Owns(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestSplitRegexList(t *testing.T) {
	got := splitRegexList(`a, b\,c ,,\.d`)
	want := []string{"a", "b,c", `\.d`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitRegexList = %q, want %q", got, want)
	}
}
