package kafkatest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/kfakebroker"
)

// Option adjusts the broker a test starts.
type Option func(*kfakebroker.Config)

// Partitions sets the partition count of auto-created topics (default 3).
func Partitions(n int) Option { return func(c *kfakebroker.Config) { c.Partitions = n } }

// DataDir persists the broker's state in dir.
func DataDir(dir string) Option { return func(c *kfakebroker.Config) { c.DataDir = dir } }

// Start starts a broker on a free loopback port for this test and returns
// its bootstrap address. The broker closes when the test ends.
func Start(t testing.TB, opts ...Option) string {
	t.Helper()
	b := StartBroker(t, opts...)
	return b.Addr()
}

// StartBroker is Start returning the broker itself, for tests that stop
// and restart it.
func StartBroker(t testing.TB, opts ...Option) *kfakebroker.Broker {
	t.Helper()
	var cfg kfakebroker.Config
	for _, o := range opts {
		o(&cfg)
	}
	b, err := kfakebroker.Start(cfg)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Client returns a franz-go client for addr, closed when the test ends.
func Client(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Produce writes records synchronously and fails the test on any error.
// Records without a topic go to topic.
func Produce(t testing.TB, addr, topic string, recs ...*kgo.Record) {
	t.Helper()
	cl := Client(t, addr, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: produce to %s: %v", topic, err)
	}
}

// Consume reads topic from the start until it has at least n records or
// the deadline passes, in which case the test fails. It returns the records
// ordered by partition, then offset.
func Consume(t testing.TB, addr, topic string, n int, within time.Duration) []*kgo.Record {
	t.Helper()
	recs, err := ConsumeUntil(addr, topic, within, func(r []*kgo.Record) bool { return len(r) >= n })
	if err != nil {
		t.Fatalf("kafkatest: consume %s: %v (have %d of %d records)", topic, err, len(recs), n)
	}
	return recs
}

// ConsumeUntil reads topic from the start until done reports true for the
// records read so far, or the deadline passes (then it returns them with
// the context error).
func ConsumeUntil(addr, topic string, within time.Duration, done func([]*kgo.Record) bool) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AllowAutoTopicCreation(),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var recs []*kgo.Record
	for !done(recs) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return sorted(recs), ctx.Err()
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return sorted(recs), nil
}

func sorted(recs []*kgo.Record) []*kgo.Record {
	slices.SortStableFunc(recs, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return recs
}
