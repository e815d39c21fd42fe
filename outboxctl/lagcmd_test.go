package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/lag"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// produceInTransaction writes n records to partition 0 of topic in one
// producer transaction, committed or left open.
func produceInTransaction(t *testing.T, broker, topic string, n int, commit bool) {
	t.Helper()
	cl := kafkatest.Client(t, broker, kgo.TransactionalID("outboxctl-test-"+topic), kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := t.Context()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := &kgo.Record{Topic: topic, Partition: 0, Value: fmt.Appendf(nil, "record %d", i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if !commit {
		return
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
}

// TestLag runs `outboxctl lag` against groups at known positions, a
// transaction marker at a partition's end, an open transaction, and a
// logical replication slot in the orders database.
func TestLag(t *testing.T) {
	t.Parallel()
	env := fixture.NewPool(t, 1).Env(t)
	ctx := t.Context()

	// A slot created before the writes below holds back their WAL. The
	// test cluster runs with wal_level=logical (testkit/pgcluster).
	slot := fmt.Sprintf("outboxctl_lag_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, env.OrdersDB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, slot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_drop_replication_slot($1)`, slot)
	})

	s := fixture.Standard(time.Now())
	s.Write(t, env)
	env.CatchUp(t, fixture.GroupPayment, events.TopicOrder)
	// The inventory service is behind on the partition of the confirmed
	// order's records: it committed the offset after its OrderCreated.
	behind := s.Confirmed.Created
	end := int64(0)
	for _, r := range s.Records {
		if r.Topic == behind.Topic && r.Partition == behind.Partition {
			end = max(end, r.Offset+1)
		}
	}
	env.CatchUp(t, fixture.GroupInventory, events.TopicOrder)
	env.Commit(t, fixture.GroupInventory, map[string]map[int32]int64{events.TopicOrder: {behind.Partition: behind.Offset + 1}})
	inventoryLag := end - behind.Offset - 1

	// Three records and a commit marker: the end offset is 4. A group
	// that handled the three committed 3, the marker's offset.
	produceInTransaction(t, env.Broker, "committed.tx", 3, true)
	env.Commit(t, "marker-reader", map[string]map[int32]int64{"committed.tx": {0: 3}})
	env.Commit(t, "tx-behind", map[string]map[int32]int64{"committed.tx": {0: 1}})
	// Two records, then a transaction left open: the last stable offset
	// is 2, the high watermark 3.
	plain := kafkatest.Client(t, env.Broker, kgo.AllowAutoTopicCreation(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := plain.ProduceSync(ctx, &kgo.Record{Topic: "open.tx", Value: []byte("a")}, &kgo.Record{Topic: "open.tx", Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produceInTransaction(t, env.Broker, "open.tx", 1, false)
	// A backlog too long to read is counted in offsets.
	big := make([]*kgo.Record, lag.ExactLimit+200)
	for i := range big {
		big[i] = &kgo.Record{Topic: "big", Value: []byte("x")}
	}
	if err := plain.ProduceSync(ctx, big...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	env.Commit(t, "big-reader", map[string]map[int32]int64{"big": {0: 0}})
	env.Commit(t, "open-reader", map[string]map[int32]int64{"open.tx": {0: 2}})

	type partition struct {
		Topic                              string
		Partition                          int32
		Committed, End, HighWatermark, Lag int64
		Exact                              bool
	}
	type report struct {
		Groups []struct {
			Name       string
			Lag        int64
			Partitions []partition
		}
		Slots []struct {
			Database, Name, Type, Plugin, SlotDatabase, RestartLSN string
			Active                                                 bool
			RetainedBytes                                          int64
		}
		Over []string
	}
	read := func(t *testing.T, args ...string) report {
		t.Helper()
		code, stdout, stderr := runCmd(t, append(append([]string{"lag", "--json"}, args...), dbFlags(env)...)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var rep report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		return rep
	}

	t.Run("groups", func(t *testing.T) {
		rep := read(t)
		lags := map[string]int64{}
		parts := map[string]partition{}
		for _, g := range rep.Groups {
			lags[g.Name] = g.Lag
			for _, p := range g.Partitions {
				parts[fmt.Sprintf("%s %s/%d", g.Name, p.Topic, p.Partition)] = p
			}
		}
		wantLags := map[string]int64{
			fixture.GroupPayment: 0, fixture.GroupInventory: inventoryLag,
			"marker-reader": 0, "tx-behind": 2, "open-reader": 0, "big-reader": lag.ExactLimit + 200,
		}
		if fmt.Sprint(lags) != fmt.Sprint(wantLags) {
			t.Errorf("lag by group = %v, want %v", lags, wantLags)
		}
		for key, want := range map[string]partition{
			fmt.Sprintf("%s %s/%d", fixture.GroupInventory, behind.Topic, behind.Partition): {
				Topic: behind.Topic, Partition: behind.Partition, Committed: behind.Offset + 1, End: end, HighWatermark: end,
				Lag: inventoryLag, Exact: true,
			},
			"marker-reader committed.tx/0": {Topic: "committed.tx", Committed: 3, End: 4, HighWatermark: 4, Lag: 0, Exact: true},
			"tx-behind committed.tx/0":     {Topic: "committed.tx", Committed: 1, End: 4, HighWatermark: 4, Lag: 2, Exact: true},
			"open-reader open.tx/0":        {Topic: "open.tx", Committed: 2, End: 2, HighWatermark: 3, Lag: 0, Exact: true},
			"big-reader big/0": {Topic: "big", Committed: 0, End: lag.ExactLimit + 200, HighWatermark: lag.ExactLimit + 200,
				Lag: lag.ExactLimit + 200},
		} {
			if got := parts[key]; got != want {
				t.Errorf("%s = %+v, want %+v", key, got, want)
			}
		}
	})

	t.Run("slot", func(t *testing.T) {
		rep := read(t, "--group", fixture.GroupPayment)
		if len(rep.Groups) != 1 || rep.Groups[0].Name != fixture.GroupPayment {
			t.Errorf("groups = %+v, want %s alone", rep.Groups, fixture.GroupPayment)
		}
		pc, err := pgx.ParseConfig(env.OrdersDB)
		if err != nil {
			t.Fatal(err)
		}
		ordersDB := pc.Database
		var found bool
		for _, sl := range rep.Slots {
			if sl.Name != slot {
				continue
			}
			found = true
			if sl.Database != "orders" || sl.SlotDatabase != ordersDB || sl.Type != "logical" || sl.Plugin != "pgoutput" ||
				sl.Active || sl.RestartLSN == "" || sl.RetainedBytes <= 0 {
				t.Errorf("slot = %+v", sl)
			}
		}
		if !found {
			t.Errorf("slot %s not listed: %+v", slot, rep.Slots)
		}
	})

	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{
			name: "tables",
			wantStdout: []string{
				"GROUP", "marker-reader", fmt.Sprintf("~%d", lag.ExactLimit+200), "(open transaction to 3)", fmt.Sprintf("lag by group: big-reader %d, inventory-service %d", lag.ExactLimit+200, inventoryLag),
				"RETAINED", slot, "reserved",
			},
		},
		{name: "under the threshold", args: []string{"--max-lag", fmt.Sprint(lag.ExactLimit + 200)}, wantStdout: []string{"no group lags more than"}},
		{
			name: "over the threshold", args: []string{"--max-lag", "1"}, wantCode: 1,
			wantStdout: []string{"lagging more than 1: big-reader, inventory-service, tx-behind"},
			wantStderr: "lag: big-reader, inventory-service, tx-behind above 1",
		},
		{name: "broker unreachable", args: []string{"--brokers", closedAddr(t), "--timeout", "2s"}, wantCode: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"lag"}, dbFlags(env)...)
			code, stdout, stderr := runCmd(t, append(args, tc.args...)...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr)
			}
		})
	}
}
