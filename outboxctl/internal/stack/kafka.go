package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Offsets are the bounds of one partition.
type Offsets struct {
	// Start is the log start offset.
	Start int64 `json:"start"`
	// Stable is the last stable offset: the end a read_committed consumer
	// (every service's) can read up to. It is below End while a producer
	// transaction is open on the partition.
	Stable int64 `json:"stable"`
	// End is the high watermark: the offset the next record will take.
	End int64 `json:"end"`
}

// ListOffsets returns the offsets of every partition of the topics that
// exist; a topic that does not exist is absent from the map. It creates no
// topic.
func ListOffsets(ctx context.Context, adm *kadm.Client, topics ...string) (map[string]map[int32]Offsets, error) {
	out := map[string]map[int32]Offsets{}
	if len(topics) == 0 {
		return out, nil
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start offsets of %v: %w", topics, err)
	}
	stables, err := adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: last stable offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: end offsets of %v: %w", topics, err)
	}
	var errs []error
	ends.Each(func(end kadm.ListedOffset) {
		switch {
		case errors.Is(end.Err, kerr.UnknownTopicOrPartition) && end.Partition == -1:
			return // no such topic: nothing was ever produced to it
		case end.Err != nil:
			errs = append(errs, fmt.Errorf("kafka: end offset of %s/%d: %w", end.Topic, end.Partition, end.Err))
			return
		}
		o := Offsets{End: end.Offset}
		for _, l := range []struct {
			listed kadm.ListedOffsets
			dst    *int64
			what   string
		}{{starts, &o.Start, "start"}, {stables, &o.Stable, "last stable"}} {
			got, ok := l.listed.Lookup(end.Topic, end.Partition)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("kafka: no %s offset for %s/%d", l.what, end.Topic, end.Partition))
				return
			case got.Err != nil:
				errs = append(errs, fmt.Errorf("kafka: %s offset of %s/%d: %w", l.what, end.Topic, end.Partition, got.Err))
				return
			}
			*l.dst = got.Offset
		}
		if out[end.Topic] == nil {
			out[end.Topic] = map[int32]Offsets{}
		}
		out[end.Topic][end.Partition] = o
	})
	return out, errors.Join(errs...)
}

// Committed returns the offsets group has committed, by topic and
// partition; a group that never committed has none.
func Committed(ctx context.Context, adm *kadm.Client, group string) (map[string]map[int32]int64, error) {
	resps, err := adm.FetchOffsets(ctx, group)
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		return map[string]map[int32]int64{}, nil
	case err != nil:
		return nil, fmt.Errorf("kafka: committed offsets of %s: %w", group, err)
	}
	out := map[string]map[int32]int64{}
	var errs []error
	resps.Each(func(r kadm.OffsetResponse) {
		switch {
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("kafka: committed offset of %s on %s/%d: %w", group, r.Topic, r.Partition, r.Err))
		case r.At >= 0:
			if out[r.Topic] == nil {
				out[r.Topic] = map[int32]int64{}
			}
			out[r.Topic][r.Partition] = r.At
		}
	})
	return out, errors.Join(errs...)
}

// Range is the offsets [From, To) of one partition.
type Range struct{ From, To int64 }

// Read reads the given ranges, partitions in parallel and each in offset
// order, as a read_committed consumer (every service) sees them: records of
// aborted transactions are skipped. It calls fn for every other record but
// transaction markers; fn returns true to stop reading that partition. To
// must not lie beyond the partition's last stable offset: a read_committed
// fetch stops there.
func Read(ctx context.Context, cfg Config, ranges map[string]map[int32]Range, fn func(*kgo.Record) (stop bool)) error {
	toRead := map[string]map[int32]kgo.Offset{}
	remaining := map[string]map[int32]int64{} // topic → partition → To
	for topic, parts := range ranges {
		for p, r := range parts {
			if r.From >= r.To {
				continue
			}
			if toRead[topic] == nil {
				toRead[topic], remaining[topic] = map[int32]kgo.Offset{}, map[int32]int64{}
			}
			toRead[topic][p] = kgo.NewOffset().At(r.From)
			remaining[topic][p] = r.To
		}
	}
	if len(toRead) == 0 {
		return nil
	}
	cl, err := cfg.Client(
		kgo.ConsumePartitions(toRead),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Markers take offsets too; seeing them lets a range that ends on
		// one reach its end.
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	done := func(topic string, p int32) {
		// Stop fetching the partition, so the broker answers for the
		// others without waiting on it.
		cl.PauseFetchPartitions(map[string][]int32{topic: {p}})
		delete(remaining[topic], p)
		if len(remaining[topic]) == 0 {
			delete(remaining, topic)
		}
	}
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("kafka: reading %v: %w", slices.Sorted(maps.Keys(remaining)), err)
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("kafka: reading %s/%d: %w", topic, p, err))
		})
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, reading := remaining[r.Topic][r.Partition]
			if !reading || r.Offset >= end {
				return
			}
			stop := !r.Attrs.IsControl() && fn(r)
			if stop || r.Offset+1 >= end {
				done(r.Topic, r.Partition)
			}
		})
	}
	return nil
}
