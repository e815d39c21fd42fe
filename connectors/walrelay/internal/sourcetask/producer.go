package sourcetask

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/delivery"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
)

func (t *Task) newProducer() (*kgo.Client, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(t.opts.Brokers...),
		kgo.ClientID("walrelay-" + t.cfg.Name),
		kgo.RecordPartitioner(delivery.Partitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Kafka Connect's producer default (compression.type=none): the
		// client and the broker spend no CPU per batch on it.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		// linger.ms: the Java producer's 5 ms unless the connector sets
		// producer.override.linger.ms, as Kafka Connect would.
		kgo.ProducerLinger(t.cfg.Linger),
		kgo.AllowAutoTopicCreation(),
		// A topic the broker is still creating answers
		// UNKNOWN_TOPIC_OR_PARTITION for a while (on a busy broker, longer
		// than a few metadata refreshes). Kafka Connect's producer waits for
		// it (max.block.ms and delivery.timeout.ms at their maximum), so
		// records are never failed for it here either.
		kgo.UnknownTopicRetries(-1),
		kgo.WithLogger(kgoLogger{t.log}),
	}
	opts = append(opts, t.opts.ProducerOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return cl, nil
}

// kgoRecord is the producer's record for a routed one. A record with a few
// headers is one allocation.
func kgoRecord(rec *eventrouter.Record) *kgo.Record {
	var r *kgo.Record
	switch n := len(rec.Headers); {
	case n == 0:
		r = &kgo.Record{}
	case n <= 4:
		b := &struct {
			rec     kgo.Record
			headers [4]kgo.RecordHeader
		}{}
		r = &b.rec
		r.Headers = b.headers[:n]
	default:
		r = &kgo.Record{Headers: make([]kgo.RecordHeader, n)}
	}
	for i, h := range rec.Headers {
		r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
	}
	r.Topic, r.Partition, r.Key, r.Value, r.Timestamp = rec.Topic, rec.Partition, rec.Key, rec.Value, rec.Timestamp
	return r
}

// produce sends a routed record as part of entry e.
func (s *streamer) produce(e *delivery.Entry, rec *eventrouter.Record) error {
	if rec.Partition < -1 {
		return permanent(fmt.Errorf("java.lang.IllegalArgumentException: Invalid partition: %d. Partition number should always be non-negative or null.", rec.Partition))
	}
	r := kgoRecord(rec)
	explicit := rec.Partition
	produced := s.producedCounter(rec.Topic)
	s.tracker.Add(e)
	s.client.Produce(s.produceCtx, r, func(r *kgo.Record, err error) {
		if err != nil {
			if explicit >= 0 && strings.Contains(err.Error(), "invalid record partitioning choice") {
				err = fmt.Errorf("record for topic %s names partition %d, which the topic does not have: %w", r.Topic, explicit, err)
			}
			err = fmt.Errorf("Unrecoverable exception from producer send callback: %w", err)
			s.produceErr.CompareAndSwap(nil, &err)
			return
		}
		produced.Inc()
		s.tracker.Ack(e)
	})
	return nil
}

// kgoLogger sends the producer's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	args := append([]any{"component", "kafka"}, keyvals...)
	switch level {
	case kgo.LogLevelError:
		k.l.Error(msg, args...)
	case kgo.LogLevelWarn:
		k.l.Warn(msg, args...)
	default:
		k.l.Debug(msg, args...)
	}
}
