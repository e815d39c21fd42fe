package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// TestPartitioner produces to a real broker with 3-partition topics and
// checks where records land.
func TestPartitioner(t *testing.T) {
	addr := kafkatest.Start(t)
	cl := kafkatest.Client(t, addr, kgo.RecordPartitioner(delivery.Partitioner()), kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	tests := []struct {
		name      string
		key       []byte
		partition int32
		want      int32
		wantErr   string
	}{
		// Java producer placements for 3 partitions (murmur2 of the
		// serialized key): StringConverter "42" vs JsonConverter "\"42\"".
		{name: "string key", key: []byte("42"), partition: -1, want: 1},
		{name: "json key", key: []byte(`"42"`), partition: -1, want: 0},
		{name: "explicit partition wins over the key", key: []byte("42"), partition: 2, want: 2},
		{name: "explicit partition without key", partition: 0, want: 0},
		{name: "partition the topic does not have", key: []byte("42"), partition: 7, wantErr: "invalid record partitioning choice of 7 from 3 available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &kgo.Record{Topic: "t", Key: tt.key, Value: []byte("v"), Partition: tt.partition}
			err := cl.ProduceSync(ctx, r).FirstErr()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Partition != tt.want {
				t.Fatalf("partition %d, want %d", r.Partition, tt.want)
			}
		})
	}

	// Records without a key and partition spread over the topic.
	seen := map[int32]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		r := &kgo.Record{Topic: "t", Value: []byte("v"), Partition: -1}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		seen[r.Partition] = true
	}
	if len(seen) < 2 {
		t.Fatalf("records without key always went to %v", seen)
	}
}
