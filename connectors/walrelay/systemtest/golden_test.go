package systemtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// goldenCase is one entry of testdata/debezium-golden.json (format in the
// contract's section 7).
type goldenCase struct {
	Name   string `json:"name"`
	Config struct {
		Router     map[string]string `json:"router"`
		Converters converters        `json:"converters"`
		Connector  map[string]string `json:"connector"`
	} `json:"config"`
	Columns           orderedColumns     `json:"columns"`
	Row               map[string]*string `json:"row"`
	Op                string             `json:"op"`
	PayloadAsInserted *string            `json:"payload_as_inserted"`
	Expect            expectation        `json:"expect"`
	Variants          []struct {
		Converters converters      `json:"converters"`
		Key        json.RawMessage `json:"key"`
		Value      json.RawMessage `json:"value"`
	} `json:"variants"`
}

type converters struct{ Key, Value, Header string }

type expectation struct {
	Skip        bool            `json:"skip"`
	Error       string          `json:"error"`
	Topic       string          `json:"topic"`
	Partition   *int32          `json:"partition"`
	Key         json.RawMessage `json:"key"`
	Value       json.RawMessage `json:"value"`
	ValueB64    *string         `json:"value_b64"`
	Headers     []goldenHeader  `json:"headers"`
	TimestampMs *int64          `json:"timestamp_ms"`
	Murmur2     *int32          `json:"murmur2_partition_if_3_partitions"`
}

type goldenHeader struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// orderedColumns keeps the column order of the JSON object.
type orderedColumns []struct{ Name, Type string }

func (o *orderedColumns) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return err
		}
		*o = append(*o, struct{ Name, Type string }{k.(string), v})
	}
	return nil
}

// bytesOf turns an expected "key"/"value" (a JSON string or null) into
// the bytes Kafka should hold; nil for null.
func bytesOf(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("expected bytes %s: %v", raw, err)
	}
	return []byte(s)
}

func converterProps(prefix, kind string) map[string]string {
	switch kind {
	case "string":
		return map[string]string{prefix: "org.apache.kafka.connect.storage.StringConverter"}
	case "json":
		return map[string]string{prefix: "org.apache.kafka.connect.json.JsonConverter", prefix + ".schemas.enable": "false"}
	case "json_schemas":
		return map[string]string{prefix: "org.apache.kafka.connect.json.JsonConverter", prefix + ".schemas.enable": "true"}
	case "bytearray":
		return map[string]string{prefix: "org.apache.kafka.connect.converters.ByteArrayConverter"}
	case "simple":
		return map[string]string{prefix: "org.apache.kafka.connect.storage.SimpleHeaderConverter"}
	}
	panic("unknown converter " + kind)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestGolden runs every golden case through the whole relay: a table with the case's
// columns, the connector registered over REST, the operation in
// PostgreSQL, and the record read back from the broker, byte for byte.
// Cases share one database; each gets its own broker and relay so topics
// do not mix.
// settings are the connector settings a golden case names: its converters
// (conv, one of its variants' or its own), router options (under
// transforms.outbox.) and connector options.
func (gc goldenCase) settings(conv converters) map[string]string {
	conf := map[string]string{}
	maps.Copy(conf, converterProps("key.converter", conv.Key))
	maps.Copy(conf, converterProps("value.converter", conv.Value))
	maps.Copy(conf, converterProps("header.converter", conv.Header))
	for k, v := range gc.Config.Router {
		conf["transforms.outbox."+k] = v
	}
	maps.Copy(conf, gc.Config.Connector)
	return conf
}

func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("../testdata/debezium-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	dsn := pgtest.NewDatabase(t)
	for _, gc := range cases {
		t.Run(gc.Name, func(t *testing.T) {
			t.Parallel()
			runGolden(t, dsn, gc, gc.Name, gc.Config.Converters, gc.Expect)
		})
		for i, v := range gc.Variants {
			exp := gc.Expect
			if v.Key != nil {
				exp.Key = v.Key
			}
			if v.Value != nil {
				exp.Value = v.Value
			}
			name := fmt.Sprintf("%s_v%d", gc.Name, i+1)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runGolden(t, dsn, gc, name, v.Converters, exp)
			})
		}
	}
}

func runGolden(t *testing.T, dsn string, gc goldenCase, name string, conv converters, exp expectation) {
	db := connectDB(t, dsn)
	table := "g_" + strings.ToLower(name)
	if len(table) > 60 {
		table = table[:60]
	}

	// DDL in the shape of the contract's typical outbox table: id is the
	// key, the routing columns are NOT NULL unless the case stores NULL.
	var cols []string
	for _, c := range gc.Columns {
		def := pgIdent(c.Name) + " " + c.Type
		switch {
		case c.Name == "id":
			def += " PRIMARY KEY"
		case (c.Name == "aggregatetype" || c.Name == "aggregateid" || c.Name == "type") && gc.Row[c.Name] != nil:
			def += " NOT NULL"
		}
		cols = append(cols, def)
	}
	mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (%s)", table, strings.Join(cols, ", ")))

	insert := func(row map[string]*string) {
		t.Helper()
		var names, params []string
		var args []any
		for _, c := range gc.Columns {
			v, ok := row[c.Name]
			if !ok {
				continue
			}
			names = append(names, pgIdent(c.Name))
			args = append(args, v)
			params = append(params, fmt.Sprintf("($%d::text)::%s", len(args), c.Type))
		}
		mustExec(t, db, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(params, ", ")), args...)
	}
	row := maps.Clone(gc.Row)
	if gc.PayloadAsInserted != nil {
		row["payload"] = gc.PayloadAsInserted
	}

	// The connector config, as a user would PUT it.
	config := map[string]string{
		"connector.class":             sourcetask.ConnectorClass,
		"tasks.max":                   "1",
		"plugin.name":                 "pgoutput",
		"topic.prefix":                "golden",
		"slot.name":                   table,
		"publication.name":            table,
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.` + table,
		"snapshot.mode":               "no_data",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
	}
	maps.Copy(config, dbConfig(t, dsn))
	maps.Copy(config, gc.settings(conv))
	if gc.Op == "r" {
		config["snapshot.mode"] = "initial"
	}
	if gc.Op == "heartbeat" {
		// The interval does not change the record; a short one keeps the
		// test fast.
		config["heartbeat.interval.ms"] = "300"
	}

	// Rows that exist before the connector: the snapshot row, and the row
	// an update/delete/truncate acts on (not emitted with no_data).
	switch gc.Op {
	case "r", "u", "d", "t", "tombstone":
		insert(row)
	}

	brokers := kafkatest.Start(t)
	base := startWorker(t, brokers, nil)
	before := time.Now()
	if code := call(t, "PUT", base+"/connectors/"+table+"/config", config, nil); code != 201 {
		t.Fatalf("PUT config: HTTP %d", code)
	}
	t.Cleanup(func() {
		if code := call(t, "DELETE", base+"/connectors/"+table, nil, nil); code != 204 {
			t.Errorf("DELETE: HTTP %d", code)
		}
		// DELETE keeps the slot, as with Debezium; drop it so the cases
		// stay within max_replication_slots.
		dropSlot(t, dsn, table)
	})
	waitStreaming(t, base, table, db, table)

	switch gc.Op {
	case "c":
		insert(row)
	case "u":
		mustExec(t, db, fmt.Sprintf("UPDATE %s SET type = 'Updated'", table))
	case "d", "tombstone":
		mustExec(t, db, fmt.Sprintf("DELETE FROM %s", table))
	case "t":
		mustExec(t, db, fmt.Sprintf("TRUNCATE %s", table))
	}

	switch {
	case exp.Error != "":
		var s connectorStatus
		waitFor(t, 30*time.Second, "the task to fail", func() bool {
			s = status(t, base, table)
			return len(s.Tasks) == 1 && s.Tasks[0].State == "FAILED"
		})
		if s.Tasks[0].Trace == "" {
			t.Fatal("FAILED task without a trace")
		}
		t.Logf("trace (want %s): %s", exp.Error, s.Tasks[0].Trace)
		return

	case exp.Skip:
		// Nothing may reach the topic the skipped change would route to;
		// a marker written afterwards proves the stream got past it.
		marker := uuid.NewString()
		payload := `{"marker": true}`
		insert(map[string]*string{"id": &marker, "aggregatetype": ptr("order"), "aggregateid": ptr("42"), "type": ptr("Marker"), "payload": &payload})
		recs, err := kafkatest.ConsumeUntil(brokers, "outbox.event.order", 30*time.Second, func(rs []*kgo.Record) bool {
			for _, r := range rs {
				if idHeader(r) == marker {
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("marker never arrived: %v (%d records)", err, len(recs))
		}
		for _, r := range recs {
			if idHeader(r) != marker {
				t.Fatalf("skipped %s produced a record: key %q value %q headers %v", gc.Op, r.Key, r.Value, r.Headers)
			}
		}
		if s := status(t, base, table); s.Tasks[0].State != "RUNNING" {
			t.Fatalf("task %s: %s", s.Tasks[0].State, s.Tasks[0].Trace)
		}
		return
	}

	recs := kafkatest.Consume(t, brokers, exp.Topic, 1, 30*time.Second)
	after := time.Now()
	if len(recs) != 1 {
		t.Fatalf("%d records on %s, want 1", len(recs), exp.Topic)
	}
	r := recs[0]

	if exp.Partition != nil && r.Partition != *exp.Partition {
		t.Errorf("partition %d, want %d", r.Partition, *exp.Partition)
	}
	if exp.Partition == nil && exp.Murmur2 != nil && r.Partition != *exp.Murmur2 {
		t.Errorf("partition %d, want %d (murmur2 of the key over 3 partitions)", r.Partition, *exp.Murmur2)
	}
	if want := bytesOf(t, exp.Key); !bytes.Equal(r.Key, want) || (r.Key == nil) != (want == nil) {
		t.Errorf("key %q (nil=%v), want %q (nil=%v)", r.Key, r.Key == nil, want, want == nil)
	}
	wantValue := bytesOf(t, exp.Value)
	if exp.ValueB64 != nil {
		var err error
		if wantValue, err = base64.StdEncoding.DecodeString(*exp.ValueB64); err != nil {
			t.Fatal(err)
		}
	}
	if gc.Op == "heartbeat" {
		m := regexp.MustCompile(`^\{"ts_ms":(\d+)\}$`).FindSubmatch(r.Value)
		if m == nil {
			t.Fatalf("heartbeat value %q", r.Value)
		}
		ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
		checkTime(t, "heartbeat ts_ms", time.UnixMilli(ms), before, after)
	} else if !bytes.Equal(r.Value, wantValue) || (r.Value == nil) != (wantValue == nil) {
		t.Errorf("value %q (nil=%v)\nwant  %q (nil=%v)", r.Value, r.Value == nil, wantValue, wantValue == nil)
	}

	if len(r.Headers) != len(exp.Headers) {
		t.Errorf("headers %v, want %v", headerStrings(r.Headers), exp.Headers)
	} else {
		for i, h := range exp.Headers {
			got := r.Headers[i]
			switch {
			case got.Key != h.Key:
				t.Errorf("header %d key %q, want %q", i, got.Key, h.Key)
			case h.Value == nil:
				if got.Value != nil {
					t.Errorf("header %s value %q, want null", h.Key, got.Value)
				}
			case *h.Value == "<RANDOM-UUID-PER-TASK-START>":
				if !uuidRE.Match(got.Value) {
					t.Errorf("header %s value %q, want a UUID", h.Key, got.Value)
				}
			case string(got.Value) != *h.Value:
				t.Errorf("header %s value %q, want %q", h.Key, got.Value, *h.Value)
			}
		}
	}

	if exp.TimestampMs != nil {
		if got := r.Timestamp.UnixMilli(); got != *exp.TimestampMs {
			t.Errorf("timestamp %d, want %d", got, *exp.TimestampMs)
		}
	} else {
		checkTime(t, "timestamp (processing time)", r.Timestamp, before, after)
	}
}

func checkTime(t *testing.T, what string, got, from, to time.Time) {
	t.Helper()
	if got.Before(from.Add(-time.Second)) || got.After(to.Add(time.Second)) {
		t.Errorf("%s %v not between %v and %v", what, got, from, to)
	}
}

func idHeader(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == "id" {
			return string(h.Value)
		}
	}
	return ""
}

func headerStrings(hs []kgo.RecordHeader) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Key + "=" + string(h.Value)
	}
	return out
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func ptr(s string) *string { return &s }
