package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Target states, as Kafka Connect stores them.
const (
	TargetStarted = "STARTED"
	TargetPaused  = "PAUSED"
	TargetStopped = "STOPPED"
)

// storedConnector is what the config topic holds for one connector name.
// Each field comes from its own key, so a field is the value of that key's
// last record whatever the order of the records of different keys: log
// compaction keeps only the last record of each key and so reorders them.
type storedConnector struct {
	// config is nil when there is no connector config (none written, or
	// deleted).
	config map[string]string
	// target is "" when there is no target state record; a connector with
	// a config and no target state is STARTED.
	target          string
	snapshotPending bool
}

func (c *storedConnector) empty() bool {
	return c.config == nil && c.target == "" && !c.snapshotPending
}

// store keeps connector configs in a compacted topic, in Kafka Connect's
// record format: key "connector-<name>" with {"properties": {...}}, key
// "target-state-<name>" with {"state": ..., "state.v2": ...}; a null value
// deletes. Every fact has its own key, so what survives compaction (the
// last record of each key) reads back as the same state. The
// relay adds "walrelay-snapshot-<name>" while an initial snapshot is being
// read (Kafka Connect skips keys it does not know).
type store struct {
	cl    *kgo.Client
	topic string
}

// openStore makes sure the topic exists (compacted, one partition) and
// returns the store with what it holds for each connector name, names
// with records but no connector config included.
func openStore(ctx context.Context, brokers []string, topic string, replication int16, log *slog.Logger, opts ...kgo.Opt) (*store, map[string]*storedConnector, string, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}, opts...)...)
	if err != nil {
		return nil, nil, "", fmt.Errorf("connect: config store client: %w", err)
	}
	adm := kadm.NewClient(cl)
	compact := "compact"
	_, err = adm.CreateTopic(ctx, 1, replication, map[string]*string{"cleanup.policy": &compact}, topic)
	switch {
	case err == nil:
		log.Info("created config topic", "topic", topic)
	case errors.Is(err, kerr.TopicAlreadyExists):
	default:
		cl.Close()
		return nil, nil, "", fmt.Errorf("connect: create config topic %s: %w", topic, err)
	}
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		cl.Close()
		return nil, nil, "", fmt.Errorf("connect: broker metadata: %w", err)
	}
	s := &store{cl: cl, topic: topic}
	state, err := s.replay(ctx, adm, brokers, opts)
	if err != nil {
		cl.Close()
		return nil, nil, "", err
	}
	return s, state, meta.Cluster, nil
}

func (s *store) close() { s.cl.Close() }

// replay reads the topic from the start to its current end.
func (s *store) replay(ctx context.Context, adm *kadm.Client, brokers []string, opts []kgo.Opt) (map[string]*storedConnector, error) {
	state := map[string]*storedConnector{}
	ends, err := adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return nil, fmt.Errorf("connect: config topic end offset: %w", err)
	}
	end, ok := ends.Lookup(s.topic, 0)
	if !ok || end.Err != nil {
		return nil, fmt.Errorf("connect: config topic %s has no partition 0 (%v)", s.topic, end.Err)
	}
	if end.Offset <= 0 {
		return state, nil
	}
	cons, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().AtStart()}}),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("connect: config topic reader: %w", err)
	}
	defer cons.Close()
	next := int64(0)
	for next < end.Offset {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("connect: read config topic: %w", err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("connect: read config topic: %w", ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			apply(state, r.Key, r.Value)
		})
	}
	maps.DeleteFunc(state, func(_ string, c *storedConnector) bool { return c.empty() })
	return state, nil
}

// apply folds one config record into state as Kafka Connect's
// KafkaConfigBackingStore does: the records of the connector-<name>,
// target-state-<name> and walrelay-snapshot-<name> keys are independent of
// each other, so a target state (or snapshot note) read before its
// connector's config still applies to it. Only a target-state tombstone
// removes a target state. Records it does not know (Kafka Connect's task
// and commit records) and values it cannot read are skipped, keeping what
// the key held before.
func apply(state map[string]*storedConnector, key, value []byte) {
	k := string(key)
	entry := func(name string) *storedConnector {
		c := state[name]
		if c == nil {
			c = &storedConnector{}
			state[name] = c
		}
		return c
	}
	switch {
	case strings.HasPrefix(k, "connector-"):
		c := entry(strings.TrimPrefix(k, "connector-"))
		if value == nil {
			c.config = nil
			return
		}
		var v struct {
			Properties map[string]string `json:"properties"`
		}
		if json.Unmarshal(value, &v) != nil || v.Properties == nil {
			return
		}
		c.config = v.Properties
	case strings.HasPrefix(k, "walrelay-snapshot-"):
		entry(strings.TrimPrefix(k, "walrelay-snapshot-")).snapshotPending = value != nil
	case strings.HasPrefix(k, "target-state-"):
		c := entry(strings.TrimPrefix(k, "target-state-"))
		if value == nil {
			c.target = ""
			return
		}
		var v map[string]any
		if json.Unmarshal(value, &v) != nil {
			return
		}
		// Connect 3.5+ writes "state.v2" (which may be STOPPED) next to
		// the older "state"; a record without it comes from an older
		// worker.
		st, ok := v["state.v2"].(string)
		if !ok {
			st, _ = v["state"].(string)
		}
		switch st {
		case TargetStarted, TargetPaused, TargetStopped:
			c.target = st
		}
	}
}

func (s *store) write(ctx context.Context, key string, value []byte) error {
	r := &kgo.Record{Topic: s.topic, Partition: 0, Key: []byte(key), Value: value}
	if err := s.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("connect: write config topic: %w", err)
	}
	return nil
}

// putConfig stores a connector's config.
func (s *store) putConfig(ctx context.Context, name string, config map[string]string) error {
	b, err := json.Marshal(struct {
		Properties map[string]string `json:"properties"`
	}{config})
	if err != nil {
		return err
	}
	return s.write(ctx, "connector-"+name, b)
}

// putTarget stores a connector's target state.
func (s *store) putTarget(ctx context.Context, name, target string) error {
	// Connect 3.5+ writes both fields; older workers read "state" and
	// treat STOPPED like PAUSED.
	legacy := target
	if legacy == TargetStopped {
		legacy = TargetPaused
	}
	b, err := json.Marshal(map[string]string{"state": legacy, "state.v2": target})
	if err != nil {
		return err
	}
	return s.write(ctx, "target-state-"+name, b)
}

// putSnapshotPending writes or clears the connector's snapshot note.
func (s *store) putSnapshotPending(ctx context.Context, name string, pending bool) error {
	var v []byte
	if pending {
		v = []byte(`{"pending":true}`)
	}
	return s.write(ctx, "walrelay-snapshot-"+name, v)
}

// remove deletes a connector: tombstones for all its keys, the config's
// first as Kafka Connect writes them, so that a remove cut short leaves no
// connector behind, only records a connector created under the same name
// would take.
func (s *store) remove(ctx context.Context, name string) error {
	for _, k := range []string{"connector-", "target-state-", "walrelay-snapshot-"} {
		if err := s.write(ctx, k+name, nil); err != nil {
			return err
		}
	}
	return nil
}
