// Package dlq reads and replays the dead letters libs/consumer writes:
// records a consumer group gave up on, produced to "<topic>.dlq" with the
// original key, value and headers and the dlq.* headers that say why.
package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
)

// ErrNotFound is returned for a reference to no record.
var ErrNotFound = errors.New("no such record")

// Ref names one record: topic/partition@offset.
type Ref struct {
	Topic     string
	Partition int32
	Offset    int64
}

// ParseRef parses "topic/partition@offset".
func ParseRef(s string) (Ref, error) {
	bad := fmt.Errorf("record %q: want <topic>/<partition>@<offset>", s)
	at := strings.LastIndexByte(s, '@')
	slash := strings.LastIndexByte(s, '/')
	if at < 0 || slash < 0 || slash > at || slash == 0 {
		return Ref{}, bad
	}
	p, err := strconv.ParseInt(s[slash+1:at], 10, 32)
	if err != nil || p < 0 {
		return Ref{}, bad
	}
	o, err := strconv.ParseInt(s[at+1:], 10, 64)
	if err != nil || o < 0 {
		return Ref{}, bad
	}
	return Ref{Topic: s[:slash], Partition: int32(p), Offset: o}, nil
}

// String returns topic/partition@offset.
func (r Ref) String() string { return fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset) }

// MarshalText writes the reference as String does, or nothing for a
// reference without a topic.
func (r Ref) MarshalText() ([]byte, error) {
	if r.Topic == "" {
		return []byte{}, nil
	}
	return []byte(r.String()), nil
}

// Header is one record header.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DeadLetter is one record of a dead-letter topic, with its dlq.* headers
// decoded.
type DeadLetter struct {
	Ref       Ref       `json:"ref"`
	Timestamp time.Time `json:"timestamp"`
	Key       []byte    `json:"-"`
	Value     []byte    `json:"-"`
	Headers   []Header  `json:"headers"`
	// Original is where the record was read before it failed; its Topic
	// is "" when the dlq.original.* headers are missing.
	Original Ref    `json:"original"`
	Group    string `json:"group"`
	// EventID and EventType are the original id and eventType headers.
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// FailedAt is dlq.failed.at, or the record's timestamp when that
	// header is missing or unreadable.
	FailedAt time.Time `json:"failedAt"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	// ValueDropped is dlq.value.dropped: the broker refused the dead
	// letter as too large, and its value (perhaps headers too) was left
	// out.
	ValueDropped string `json:"valueDropped,omitempty"`
}

// Reason returns the first line of the error.
func (d *DeadLetter) Reason() string {
	first, _, _ := strings.Cut(d.Error, "\n")
	return first
}

// OriginalHeaders returns the headers of the record as it was before it
// failed: every header but the dlq.* ones.
func (d *DeadLetter) OriginalHeaders() []kgo.RecordHeader {
	var out []kgo.RecordHeader
	for _, h := range d.Headers {
		if !strings.HasPrefix(h.Key, "dlq.") {
			out = append(out, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
		}
	}
	return out
}

// MarshalJSON adds the key and the value as text, and the value as JSON
// when it is JSON.
func (d *DeadLetter) MarshalJSON() ([]byte, error) {
	type plain DeadLetter
	out := struct {
		*plain
		Key       *string         `json:"key"`
		Value     *string         `json:"value"`
		ValueJSON json.RawMessage `json:"valueJson,omitempty"`
	}{plain: (*plain)(d)}
	if d.Key != nil {
		k := string(d.Key)
		out.Key = &k
	}
	if d.Value != nil {
		v := string(d.Value)
		out.Value = &v
		if json.Valid(d.Value) {
			out.ValueJSON = d.Value
		}
	}
	return json.Marshal(out)
}

func decode(r *kgo.Record) *DeadLetter {
	d := &DeadLetter{
		Ref:       Ref{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset},
		Timestamp: r.Timestamp.UTC(), Key: r.Key, Value: r.Value, Headers: []Header{},
		Original: Ref{Partition: -1, Offset: -1},
	}
	for _, h := range r.Headers {
		d.Headers = append(d.Headers, Header{Key: h.Key, Value: string(h.Value)})
	}
	get := func(key string) string { v, _ := stack.Header(r.Headers, key); return v }
	d.Original.Topic = get(consumer.HeaderDLQOriginalTopic)
	if p, err := strconv.ParseInt(get(consumer.HeaderDLQOriginalPartition), 10, 32); err == nil {
		d.Original.Partition = int32(p)
	}
	if o, err := strconv.ParseInt(get(consumer.HeaderDLQOriginalOffset), 10, 64); err == nil {
		d.Original.Offset = o
	}
	d.Group = get(consumer.HeaderDLQGroup)
	d.EventID = stack.Canonical(get(consumer.HeaderID))
	d.EventType = get(consumer.HeaderEventType)
	d.Error = get(consumer.HeaderDLQError)
	d.ValueDropped = get(consumer.HeaderDLQValueDropped)
	d.Attempts, _ = strconv.Atoi(get(consumer.HeaderDLQAttempts))
	d.FailedAt = d.Timestamp
	if at, err := time.Parse(time.RFC3339Nano, get(consumer.HeaderDLQFailedAt)); err == nil {
		d.FailedAt = at.UTC()
	}
	return d
}

// Filter selects dead letters; a zero field selects all.
type Filter struct {
	// Group is the consumer group that gave up (dlq.group).
	Group string
	// Type is the event type (the eventType header).
	Type string
	// Topic is the original topic or its dead-letter topic; it also
	// narrows List to that one dead-letter topic.
	Topic string
	// Since keeps dead letters that failed at or after it.
	Since time.Time
}

// Match reports whether f selects d.
func (f Filter) Match(d *DeadLetter) bool {
	return (f.Group == "" || d.Group == f.Group) &&
		(f.Type == "" || d.EventType == f.Type) &&
		(f.Topic == "" || f.topic() == d.Ref.Topic) &&
		(f.Since.IsZero() || !d.FailedAt.Before(f.Since))
}

// topic returns the dead-letter topic f.Topic names.
func (f Filter) topic() string {
	if strings.HasSuffix(f.Topic, consumer.DLQSuffix) {
		return f.Topic
	}
	return f.Topic + consumer.DLQSuffix
}

// Topics returns the dead-letter topics List reads: f's, or those of the
// three routed topics.
func (f Filter) Topics() []string {
	if f.Topic != "" {
		return []string{f.topic()}
	}
	out := make([]string, len(stack.RoutedTopics))
	for i, t := range stack.RoutedTopics {
		out[i] = t + consumer.DLQSuffix
	}
	return out
}

// List reads every record of f's dead-letter topics, up to their last
// stable offsets, and returns those f selects, ordered by topic,
// partition and offset.
func List(ctx context.Context, cfg stack.Config, f Filter) ([]*DeadLetter, error) {
	cl, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	offsets, err := stack.ListOffsets(ctx, kadm.NewClient(cl), f.Topics()...)
	if err != nil {
		return nil, err
	}
	ranges := map[string]map[int32]stack.Range{}
	for topic, parts := range offsets {
		ranges[topic] = map[int32]stack.Range{}
		for p, o := range parts {
			ranges[topic][p] = stack.Range{From: o.Start, To: o.Stable}
		}
	}
	var out []*DeadLetter
	err = stack.Read(ctx, cfg, ranges, func(r *kgo.Record) bool {
		if d := decode(r); f.Match(d) {
			out = append(out, d)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	sortByRef(out)
	return out, nil
}

// Get reads the record ref names. ErrNotFound when there is none: no such
// topic or partition, an offset outside the log, a transaction marker or
// an aborted record.
func Get(ctx context.Context, cfg stack.Config, ref Ref) (*DeadLetter, error) {
	cl, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	offsets, err := stack.ListOffsets(ctx, kadm.NewClient(cl), ref.Topic)
	if err != nil {
		return nil, err
	}
	o, ok := offsets[ref.Topic][ref.Partition]
	if !ok || ref.Offset < o.Start || ref.Offset >= o.Stable {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	var found *DeadLetter
	// Read from the offset to the end, and stop at the first record: at
	// the offset, or past it when the offset holds none.
	err = stack.Read(ctx, cfg, map[string]map[int32]stack.Range{ref.Topic: {ref.Partition: {From: ref.Offset, To: o.Stable}}},
		func(r *kgo.Record) bool {
			if r.Offset == ref.Offset {
				found = decode(r)
			}
			return true
		})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	return found, nil
}
