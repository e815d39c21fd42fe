package kafkatest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/kfakebroker"
)

func TestAutoCreatedTopicsHaveDefaultPartitions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []kafkatest.Option
		want int
	}{
		{"default", nil, 3},
		{"configured", []kafkatest.Option{kafkatest.Partitions(5)}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := kafkatest.Start(t, tc.opts...)
			kafkatest.Produce(t, addr, "orders", &kgo.Record{Key: []byte("k"), Value: []byte("v")})
			adm := kadm.NewClient(kafkatest.Client(t, addr))
			td, err := adm.ListTopics(t.Context(), "orders")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(td["orders"].Partitions); got != tc.want {
				t.Fatalf("partitions = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDataDirKeepsRecordsAndOffsets restarts a broker on the same data
// directory and expects the records and a group's committed offset back.
func TestDataDirKeepsRecordsAndOffsets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	b, err := kfakebroker.Start(kfakebroker.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	kafkatest.Produce(t, addr, "t1",
		&kgo.Record{Key: []byte("a"), Value: []byte("1")},
		&kgo.Record{Key: []byte("a"), Value: []byte("2")},
	)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("g1"), kgo.ConsumeTopics("t1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < 1 && ctx.Err() == nil {
		cl.PollRecords(ctx, 1).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) == 0 {
		t.Fatal("no record consumed")
	}
	if err := cl.CommitRecords(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	b2, err := kfakebroker.Start(kfakebroker.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	recs := kafkatest.Consume(t, b2.Addr(), "t1", 2, 20*time.Second)
	if string(recs[0].Value) != "1" || string(recs[1].Value) != "2" {
		t.Fatalf("records after restart = %q, %q", recs[0].Value, recs[1].Value)
	}
	adm := kadm.NewClient(kafkatest.Client(t, b2.Addr()))
	offs, err := adm.FetchOffsets(t.Context(), "g1")
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offs.Lookup("t1", got[0].Partition)
	if !ok || o.At != got[0].Offset+1 {
		t.Fatalf("committed offset after restart = %+v (found %v), want %d", o, ok, got[0].Offset+1)
	}
}
