package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// storedConnector is a connector's durable state.
type storedConnector struct {
	config          map[string]string
	target          string
	snapshotPending bool
}

// store keeps connector configs in a compacted topic, in Kafka Connect's
// record format: key "connector-<name>" with {"properties": {...}}, key
// "target-state-<name>" with {"state": ...}; a null value deletes. The
// relay adds "walrelay-snapshot-<name>" while an initial snapshot is being
// read (Kafka Connect skips keys it does not know).
type store struct {
	cl    *kgo.Client
	topic string
}

// openStore makes sure the topic exists (compacted, one partition) and
// returns the store with the connectors it holds.
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
	return state, nil
}

// apply folds one config record into state. Records it does not know
// (Kafka Connect's task and commit records) are skipped.
func apply(state map[string]*storedConnector, key, value []byte) {
	k := string(key)
	switch {
	case strings.HasPrefix(k, "connector-"):
		name := strings.TrimPrefix(k, "connector-")
		if value == nil {
			delete(state, name)
			return
		}
		var v struct {
			Properties map[string]string `json:"properties"`
		}
		if json.Unmarshal(value, &v) != nil || v.Properties == nil {
			return
		}
		c := state[name]
		if c == nil {
			c = &storedConnector{target: TargetStarted}
			state[name] = c
		}
		c.config = v.Properties
	case strings.HasPrefix(k, "walrelay-snapshot-"):
		if c := state[strings.TrimPrefix(k, "walrelay-snapshot-")]; c != nil {
			c.snapshotPending = value != nil
		}
	case strings.HasPrefix(k, "target-state-"):
		name := strings.TrimPrefix(k, "target-state-")
		c := state[name]
		if c == nil || value == nil {
			return
		}
		var v struct {
			State   string `json:"state"`
			StateV2 string `json:"state.v2"`
		}
		if json.Unmarshal(value, &v) != nil {
			return
		}
		st := v.StateV2
		if st == "" {
			st = v.State
		}
		switch st {
		case TargetStopped, TargetPaused:
			c.target = st
		default:
			c.target = TargetStarted
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

// remove deletes a connector (tombstones for all its keys).
func (s *store) remove(ctx context.Context, name string) error {
	for _, k := range []string{"walrelay-snapshot-", "target-state-", "connector-"} {
		if err := s.write(ctx, k+name, nil); err != nil {
			return err
		}
	}
	return nil
}
