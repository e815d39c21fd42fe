package delivery

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// Partitioner returns the producer's partitioner: a record with
// Partition >= 0 goes to that partition (and fails with a clear error when
// the topic has fewer partitions); otherwise the key is hashed with murmur2
// exactly like the Java client's default partitioner, and records without
// a key stick to one partition per batch.
//
// Set Record.Partition to -1 for "let the key decide" before producing.
func Partitioner() kgo.Partitioner {
	return partitioner{inner: kgo.StickyKeyPartitioner(nil)}
}

type partitioner struct{ inner kgo.Partitioner }

func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &topicPartitioner{inner: p.inner.ForTopic(topic)}
}

type topicPartitioner struct{ inner kgo.TopicPartitioner }

var _ kgo.TopicPartitionerOnNewBatch = (*topicPartitioner)(nil)

// RequiresConsistency makes explicit and keyed placements use the full
// partition list, not just the currently writable partitions.
func (p *topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.inner.RequiresConsistency(r)
}

// Partition returns the record's own partition when it has one. A number
// at or beyond n makes the client fail the record ("invalid record
// partitioning choice of P from N available") rather than wait.
func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition)
	}
	return p.inner.Partition(r, n)
}

// OnNewBatch keeps the sticky choice for records without a key moving.
func (p *topicPartitioner) OnNewBatch() {
	if nb, ok := p.inner.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
