package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// RoutedTopics are the topics the connectors route outbox rows to, the
// ones the audit reads record by record.
var RoutedTopics = []string{events.TopicOrder, events.TopicPayment, events.TopicInventory}

// record is what the audit keeps of one well-formed record.
type record struct {
	Topic     string
	Partition int32
	Offset    int64
	ID, Type  string
	OrderID   string
	Timestamp time.Time
}

// topicsRead is every routed record, indexed.
type topicsRead struct {
	stats map[string]*TopicStats
	// byID holds the first copy of every event id.
	byID map[string]*record
	// byOrder holds, per order and event type, one record per distinct
	// event id.
	byOrder map[string]map[string]map[string]*record
	// deadLetters counts the records of each routed topic's dead-letter
	// topic.
	deadLetters map[string]int64
}

func (t *topicsRead) add(r *record) {
	if _, seen := t.byID[r.ID]; seen {
		return
	}
	t.byID[r.ID] = r
	byType := t.byOrder[r.OrderID]
	if byType == nil {
		byType = map[string]map[string]*record{}
		t.byOrder[r.OrderID] = byType
	}
	ids := byType[r.Type]
	if ids == nil {
		ids = map[string]*record{}
		byType[r.Type] = ids
	}
	ids[r.ID] = r
}

// partitionRange is the offsets [start, end) of one partition to read.
type partitionRange struct{ start, end int64 }

// readTopics reads every record of the routed topics from the log start to
// the end offsets listed when it begins, and counts the records of their
// dead-letter topics.
func readTopics(ctx context.Context, brokers []string, opts []kgo.Opt) (*topicsRead, error) {
	out := &topicsRead{
		stats:       map[string]*TopicStats{},
		byID:        map[string]*record{},
		byOrder:     map[string]map[string]map[string]*record{},
		deadLetters: map[string]int64{},
	}
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)

	ranges, err := listRanges(ctx, adm, RoutedTopics)
	if err != nil {
		return nil, err
	}
	dlqs := make([]string, len(RoutedTopics))
	for i, t := range RoutedTopics {
		dlqs[i] = t + consumer.DLQSuffix
	}
	dlqRanges, err := listRanges(ctx, adm, dlqs)
	if err != nil {
		return nil, err
	}
	for topic, parts := range dlqRanges {
		out.deadLetters[topic] = 0
		for _, r := range parts {
			out.deadLetters[topic] += r.end - r.start
		}
	}

	toRead := map[string]map[int32]kgo.Offset{}
	remaining := map[string]map[int32]int64{} // topic → partition → end
	for _, topic := range RoutedTopics {
		parts, exists := ranges[topic]
		st := &TopicStats{Topic: topic, Exists: exists, Partitions: len(parts), ByType: map[string]int{}}
		out.stats[topic] = st
		for p, r := range parts {
			if r.start >= r.end {
				continue
			}
			if toRead[topic] == nil {
				toRead[topic], remaining[topic] = map[int32]kgo.Offset{}, map[int32]int64{}
			}
			toRead[topic][p] = kgo.NewOffset().At(r.start)
			remaining[topic][p] = r.end
		}
	}
	if len(toRead) == 0 {
		return out, nil
	}

	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(toRead),
		// Control records take offsets too; seeing them lets a partition
		// that ends with a transaction marker reach its end offset.
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(250 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	seen := map[string]map[string]int{} // topic → id → copies
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kafka: reading %v: %w", slices.Sorted(maps.Keys(remaining)), err)
		}
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("kafka: reading %s[%d]: %w", topic, p, err))
		})
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, reading := remaining[r.Topic][r.Partition]
			if !reading || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				// Done: stop fetching the partition, so the broker answers
				// for the others without waiting on it.
				cl.PauseFetchPartitions(map[string][]int32{r.Topic: {r.Partition}})
				delete(remaining[r.Topic], r.Partition)
				if len(remaining[r.Topic]) == 0 {
					delete(remaining, r.Topic)
				}
			}
			if r.Attrs.IsControl() {
				return
			}
			out.count(r, seen)
		})
	}
	for topic, ids := range seen {
		st := out.stats[topic]
		for _, n := range ids {
			if n > 1 {
				st.DuplicateIDs++
				st.DuplicateRecords += n - 1
			}
		}
	}
	return out, nil
}

// count files one record: malformed, or counted by type and indexed.
func (t *topicsRead) count(r *kgo.Record, seen map[string]map[string]int) {
	st := t.stats[r.Topic]
	st.Records++
	rec := decode(r)
	if rec == nil {
		st.Malformed++
		return
	}
	st.ByType[rec.Type]++
	if seen[r.Topic] == nil {
		seen[r.Topic] = map[string]int{}
	}
	seen[r.Topic][rec.ID]++
	t.add(rec)
}

// decode returns the record's event, or nil when it has no UUID id header,
// no type header, a payload its type's schema refuses, or no order (neither a key nor a payload orderId). The
// first of repeated headers counts, as in libs/consumer.
func decode(r *kgo.Record) *record {
	var id, typ string
	var hasID, hasType bool
	for _, h := range r.Headers {
		switch {
		case h.Key == consumer.HeaderID && !hasID:
			id, hasID = string(h.Value), true
		case h.Key == consumer.HeaderEventType && !hasType:
			typ, hasType = string(h.Value), true
		}
	}
	u, err := uuid.Parse(id)
	if !hasID || err != nil || typ == "" {
		return nil
	}
	// A payload that breaks its type's contract is no event: every
	// consumer dead-letters it.
	if schemas.Validate(typ, r.Value) != nil {
		return nil
	}
	order := string(r.Key)
	if order == "" {
		var p struct {
			OrderID string `json:"orderId"`
		}
		if json.Unmarshal(r.Value, &p) != nil || p.OrderID == "" {
			return nil
		}
		order = p.OrderID
	}
	return &record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		ID: u.String(), Type: typ, OrderID: canonical(order), Timestamp: r.Timestamp.UTC(),
	}
}

// canonical writes a UUID the way PostgreSQL's uuid::text does; anything
// else is kept as it is.
func canonical(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return u.String()
	}
	return id
}

// listRanges returns the offsets to read of every partition of the topics
// that exist; a topic that does not exist is absent from the map.
func listRanges(ctx context.Context, adm *kadm.Client, topics []string) (map[string]map[int32]partitionRange, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: end offsets of %v: %w", topics, err)
	}
	out := map[string]map[int32]partitionRange{}
	var errs []error
	ends.Each(func(end kadm.ListedOffset) {
		switch {
		case errors.Is(end.Err, kerr.UnknownTopicOrPartition) && end.Partition == -1:
			return // no such topic: nothing was ever produced to it
		case end.Err != nil:
			errs = append(errs, fmt.Errorf("kafka: end offset of %s[%d]: %w", end.Topic, end.Partition, end.Err))
			return
		}
		start, ok := starts.Lookup(end.Topic, end.Partition)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("kafka: no start offset for %s[%d]", end.Topic, end.Partition))
			return
		case start.Err != nil:
			errs = append(errs, fmt.Errorf("kafka: start offset of %s[%d]: %w", end.Topic, end.Partition, start.Err))
			return
		}
		if out[end.Topic] == nil {
			out[end.Topic] = map[int32]partitionRange{}
		}
		out[end.Topic][end.Partition] = partitionRange{start: start.Offset, end: end.Offset}
	})
	return out, errors.Join(errs...)
}
