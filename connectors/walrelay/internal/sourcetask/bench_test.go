package sourcetask

import (
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// outboxTx is the CopyData payloads of one transaction inserting one row of
// libs/outbox's table, as a walsender sends them: Begin, Insert, Commit.
func outboxTx() [3][]byte {
	xlog := func(lsn uint64, msg []byte) []byte {
		b := []byte{pgoutput.CopyXLogData}
		b = binary.BigEndian.AppendUint64(b, lsn)
		b = binary.BigEndian.AppendUint64(b, lsn)
		b = binary.BigEndian.AppendUint64(b, 0)
		return append(b, msg...)
	}
	begin := []byte{'B'}
	begin = binary.BigEndian.AppendUint64(begin, 0x1000)
	begin = binary.BigEndian.AppendUint64(begin, 0)
	begin = binary.BigEndian.AppendUint32(begin, 731)

	insert := []byte{'I'}
	insert = binary.BigEndian.AppendUint32(insert, 16384)
	insert = append(insert, 'N')
	values := []string{
		"6f1c2a52-6a4e-4a8e-9c1e-3f2b7d9a0b11", "order", "order-42", "OrderCreated",
		`{"orderId": 42, "total": 19.99, "lines": [{"sku": "A-1", "qty": 2}]}`,
		"2026-11-23 18:52:07.123456", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	insert = binary.BigEndian.AppendUint16(insert, uint16(len(values)))
	for _, v := range values {
		insert = append(insert, 't')
		insert = binary.BigEndian.AppendUint32(insert, uint32(len(v)))
		insert = append(insert, v...)
	}

	commit := []byte{'C', 0}
	commit = binary.BigEndian.AppendUint64(commit, 0x1000)
	commit = binary.BigEndian.AppendUint64(commit, 0x1030)
	commit = binary.BigEndian.AppendUint64(commit, 0)
	return [3][]byte{xlog(0x0f00, begin), xlog(0x0f80, insert), xlog(0x1000, commit)}
}

// BenchmarkStreamOutboxInsert measures what the stream's reader does per
// outbox insert, short of I/O: decode the three CopyData messages of its
// transaction, route the row, build the producer's record and track its
// delivery.
func BenchmarkStreamOutboxInsert(b *testing.B) {
	props := with(baseProps(),
		"extended.headers.enabled", "false",
		"transforms", "outbox",
		"transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter",
		"transforms.outbox.table.field.event.timestamp", "occurred_at",
		"transforms.outbox.table.fields.additional.placement", "type:header:eventType,traceparent:header:traceparent",
		"key.converter", "org.apache.kafka.connect.storage.StringConverter",
		"value.converter", "org.apache.kafka.connect.storage.StringConverter",
	)
	cfg, errs := ParseConfig(props)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	router, cerrs := eventrouter.New(cfg.Name, cfg.Props, eventrouter.Worker{}, slog.New(slog.DiscardHandler))
	if len(cerrs) > 0 {
		b.Fatal(cerrs)
	}
	s := &streamer{Task: &Task{cfg: cfg}, router: router}
	rel := &relation{schema: "public", table: "outbox", captured: true, cols: []replication.Column{
		{Name: "id", TypeOID: eventrouter.OIDUUID, TypeMod: -1, NotNull: true, Key: true},
		{Name: "aggregatetype", TypeOID: eventrouter.OIDText, TypeMod: -1, NotNull: true},
		{Name: "aggregateid", TypeOID: eventrouter.OIDText, TypeMod: -1, NotNull: true},
		{Name: "type", TypeOID: eventrouter.OIDText, TypeMod: -1, NotNull: true},
		{Name: "payload", TypeOID: eventrouter.OIDJSONB, TypeMod: -1, NotNull: true},
		{Name: "occurred_at", TypeOID: eventrouter.OIDTimestamp, TypeMod: -1, NotNull: true},
		{Name: "traceparent", TypeOID: eventrouter.OIDText, TypeMod: -1},
	}}
	tracker := delivery.NewTracker(0, func(time.Time, int) {})
	tx := outboxTx()
	var copyDec pgoutput.Decoder
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		var e *delivery.Entry
		for _, payload := range tx {
			cm, err := copyDec.DecodeCopyData(payload)
			if err != nil {
				b.Fatal(err)
			}
			msg, err := s.dec.Decode(cm.(*pgoutput.XLogData).Data)
			if err != nil {
				b.Fatal(err)
			}
			switch m := msg.(type) {
			case *pgoutput.Begin:
				e = tracker.Open()
			case *pgoutput.Insert:
				rec, err := s.route(eventrouter.OpCreate, rel, m.New, nil, now)
				if err != nil || rec == nil {
					b.Fatal(rec, err)
				}
				if r := kgoRecord(rec); r.Topic != "outbox.event.order" || len(r.Headers) != 3 {
					b.Fatalf("record %+v", r)
				}
				tracker.Add(e)
				tracker.Ack(e)
			case *pgoutput.Commit:
				tracker.Seal(e, m.TransactionEndLSN, m.CommitTime)
			}
		}
	}
}
