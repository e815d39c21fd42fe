package connect_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// TestStateSurvivesCompaction pauses or stops a connector, notes a
// snapshot, then changes its config, so the connector's config record
// comes after its target-state and snapshot records. Log compaction keeps
// the last record of each key in offset order; a worker restarted on what
// compaction leaves must find the connector as it was left, with its new
// config, its target state and its snapshot note.
func TestStateSurvivesCompaction(t *testing.T) {
	tests := []struct {
		name      string
		call      string // PUT /connectors/c/<call>
		code      int
		connector string // connector state after the restart
		tasks     []string
	}{
		{"paused", "pause", 202, "PAUSED", []string{"PAUSED"}},
		{"stopped", "stop", 204, "STOPPED", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if code := f.call("PUT", "/connectors/c/config", f.config("c"), nil); code != 201 {
				t.Fatalf("create: HTTP %d", code)
			}
			f.waitTask("c", "RUNNING")
			if code := f.call("PUT", "/connectors/c/"+tt.call, nil, nil); code != tt.code {
				t.Fatalf("%s: HTTP %d", tt.call, code)
			}
			if err := f.worker.SetSnapshotPending(t.Context(), "c", true); err != nil {
				t.Fatal(err)
			}
			if code := f.call("PUT", "/connectors/c/config", f.config("c", "heartbeat.interval.ms", "60000"), nil); code != 200 {
				t.Fatalf("update: HTTP %d", code)
			}
			if s := f.status("c"); s.Connector.State != tt.connector {
				t.Fatalf("status after the update: %+v", s)
			}
			f.stopWorker()

			f.configTopic = compactedCopy(t, f.brokers, "connect_configs")
			f.startWorker(nil, nil)
			s := f.status("c")
			var tasks []string
			for _, ts := range s.Tasks {
				tasks = append(tasks, ts.State)
			}
			if s.Connector.State != tt.connector || !slices.Equal(tasks, tt.tasks) {
				t.Fatalf("after a restart on the compacted topic: connector %s, tasks %v; want %s, %v", s.Connector.State, tasks, tt.connector, tt.tasks)
			}
			var cfg map[string]string
			if code := f.call("GET", "/connectors/c/config", nil, &cfg); code != 200 || cfg["heartbeat.interval.ms"] != "60000" {
				t.Fatalf("config after the restart: HTTP %d %v", code, cfg)
			}
			if !f.worker.SnapshotPending("c") {
				t.Fatal("snapshot note lost")
			}
		})
	}
}

// compactedCopy writes what log compaction leaves of a one-partition
// topic to a new compacted topic and returns its name: the last record of
// each key, in offset order, without the keys whose last record is a
// tombstone (as once delete.retention.ms has passed). It fails the test
// unless compaction reorders the keys, putting a target-state record
// before its connector's config record.
func compactedCopy(t *testing.T, brokers, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, ok := ends.Lookup(topic, 0)
	if !ok || end.Err != nil || end.Offset <= 0 {
		t.Fatalf("end of %s: %+v", topic, end)
	}
	cons := kafkatest.Client(t, brokers, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var recs []*kgo.Record
	for len(recs) == 0 || recs[len(recs)-1].Offset < end.Offset-1 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %v (%d of %d records)", topic, ctx.Err(), len(recs), end.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}

	out := topic + "_compacted"
	last := map[string]int{}
	for i, r := range recs {
		last[string(r.Key)] = i
	}
	var kept []*kgo.Record
	var keys []string
	for i, r := range recs {
		if last[string(r.Key)] == i && r.Value != nil {
			kept = append(kept, &kgo.Record{Topic: out, Partition: 0, Key: r.Key, Value: r.Value})
			keys = append(keys, string(r.Key))
		}
	}
	ts, ci := slices.Index(keys, "target-state-c"), slices.Index(keys, "connector-c")
	if ts < 0 || ci < ts {
		t.Fatalf("compaction leaves %v: the target state does not come before the config", keys)
	}

	compact := "compact"
	if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, out); err != nil {
		t.Fatal(err)
	}
	prod := kafkatest.Client(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := prod.ProduceSync(ctx, kept...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCreateTakesStoredTargetState: a target state stored for a name that
// has no connector config (Kafka Connect writes one before the config when
// a connector is created with an initial state) is the state of a
// connector created under that name, before and after a restart.
func TestCreateTakesStoredTargetState(t *testing.T) {
	f := newFixture(t)
	f.stopWorker()
	kafkatest.Produce(t, f.brokers, "connect_configs", &kgo.Record{Key: []byte("target-state-n"), Value: []byte(`{"state":"PAUSED","state.v2":"STOPPED"}`)})
	f.startWorker(nil, nil)
	var names []string
	if f.call("GET", "/connectors", nil, &names); len(names) != 0 {
		t.Fatalf("connectors %v, want none", names)
	}
	if code := f.call("PUT", "/connectors/n/config", f.config("n"), nil); code != 201 {
		t.Fatalf("create: HTTP %d", code)
	}
	if s := f.status("n"); s.Connector.State != "STOPPED" || len(s.Tasks) != 0 {
		t.Fatalf("created connector: %+v", s)
	}
	f.stopWorker()
	f.startWorker(nil, nil)
	if s := f.status("n"); s.Connector.State != "STOPPED" || len(s.Tasks) != 0 {
		t.Fatalf("after a restart: %+v", s)
	}
}
