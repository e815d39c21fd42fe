package stack

import (
	"slices"
	"testing"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// TestPartitionIsJavaMurmur2: the partitions of keys whose murmur2 hash
// Kafka's own tests pin (org.apache.kafka.common.utils.UtilsTest), as the
// Java producer's default partitioner computes them.
func TestPartitionIsJavaMurmur2(t *testing.T) {
	for key, hash := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "abc": 479470107, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
	} {
		for _, n := range []int{1, 3, 7, 12, 100} {
			want := int32(uint32(hash)&0x7fffffff) % int32(n)
			if got := Partition([]byte(key), n); got != want {
				t.Errorf("Partition(%q, %d) = %d, want %d", key, n, got, want)
			}
		}
	}
}

func TestGroupsReadWhatTheirMuxesHandle(t *testing.T) {
	for _, tc := range []struct {
		group  string
		topics []string
	}{
		{GroupOrder, []string{events.TopicInventory, events.TopicPayment}},
		{GroupPayment, []string{events.TopicOrder}},
		{GroupInventory, []string{events.TopicOrder}},
	} {
		g, ok := LookupGroup(tc.group)
		if !ok || !slices.Equal(g.Topics(), tc.topics) {
			t.Errorf("%s reads %v, want %v", tc.group, g.Topics(), tc.topics)
		}
	}
	var readers []string
	for _, g := range ReadersOf(events.TopicOrder) {
		readers = append(readers, g.Name)
	}
	if !slices.Equal(readers, []string{GroupPayment, GroupInventory}) {
		t.Errorf("ReadersOf(%s) = %v", events.TopicOrder, readers)
	}
}
