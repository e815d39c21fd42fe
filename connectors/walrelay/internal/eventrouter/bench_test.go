package eventrouter

import (
	"testing"
	"time"
)

// outboxProps is the routing part of the services' connector configs
// (connectors/debezium/*.json).
func outboxProps(extra map[string]string) map[string]string {
	props := map[string]string{
		rk("route.by.field"):                    "aggregatetype",
		rk("route.topic.replacement"):           "outbox.event.${routedByValue}",
		rk("table.field.event.id"):              "id",
		rk("table.field.event.key"):             "aggregateid",
		rk("table.field.event.payload"):         "payload",
		rk("table.field.event.timestamp"):       "occurred_at",
		rk("table.fields.additional.placement"): "type:header:eventType,traceparent:header:traceparent",
		rk("table.op.invalid.behavior"):         "warn",
		"header.converter":                      "org.apache.kafka.connect.storage.SimpleHeaderConverter",
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

// outboxInsert is a row of libs/outbox's table as pgoutput ships it.
func outboxInsert() Change {
	return insert(outboxRow(
		notNull(col("occurred_at", OIDTimestamp, "2026-11-23 18:52:07.123456")),
		col("traceparent", OIDText, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
	))
}

// BenchmarkRoute routes a typical outbox insert, with the services'
// StringConverter configuration and with the worker's JsonConverter
// default.
func BenchmarkRoute(b *testing.B) {
	for _, bc := range []struct {
		name  string
		extra map[string]string
	}{
		{"string", nil},
		{"json", map[string]string{"key.converter": jsonConv, "value.converter": jsonConv}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, errs := New("bench", baseConfig(outboxProps(bc.extra)), Worker{}, discardLog)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			ch := outboxInsert()
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				rec, err := r.Route(ch, now)
				if err != nil || rec == nil {
					b.Fatal(rec, err)
				}
			}
		})
	}
}
