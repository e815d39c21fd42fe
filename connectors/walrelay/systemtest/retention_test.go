package systemtest

import (
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

// TestWALRetentionStaysBounded writes about 50 MB to a table the connector
// does not capture while the outbox stays idle: the slot must not keep that
// WAL once a heartbeat interval has passed.
func TestWALRetentionStaysBounded(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := connectDB(t, dsn)
	mustExec(t, db, outbox.Schema)
	mustExec(t, db, `CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)`)
	brokers := kafkatest.Start(t)
	base := startWorker(t, brokers, nil)
	config := outboxConfig(t, dsn, "ret",
		"heartbeat.interval.ms", "500",
		"heartbeat.action.query", "SELECT pg_logical_emit_message(false, 'heartbeat', now()::varchar)",
		"message.prefix.exclude.list", "heartbeat",
	)
	if code := call(t, "PUT", base+"/connectors/ret/config", config, nil); code != 201 {
		t.Fatalf("PUT: HTTP %d", code)
	}
	waitStreaming(t, base, "ret", db, "ret")

	mustExec(t, db, `INSERT INTO filler (pad) SELECT repeat(md5(g::text), 32) FROM generate_series(1, 50000) g`)
	written := retainedWAL(t, db, "ret")
	if written < 40<<20 {
		t.Fatalf("only %s of WAL retained after the bulk write; the test needs about 50 MB", mb(written))
	}

	// Checkpoints log the running-transactions record that lets the slot's
	// restart position follow its confirmed position.
	var retained int64
	waitFor(t, 90*time.Second, "the slot to release the WAL", func() bool {
		mustExec(t, db, `CHECKPOINT`)
		retained = retainedWAL(t, db, "ret")
		return retained < 16<<20
	})
	t.Logf("retained WAL: %s after the write, %s later", mb(written), mb(retained))

	// Heartbeats reached their topic; the heartbeat messages were excluded.
	kafkatest.Consume(t, brokers, "__debezium-heartbeat.ret", 1, 30*time.Second)
	if s := status(t, base, "ret"); s.Tasks[0].State != "RUNNING" {
		t.Fatalf("task %s: %s", s.Tasks[0].State, s.Tasks[0].Trace)
	}
}
