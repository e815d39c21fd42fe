package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

// testDeadLetterTopicsExistBeforeTheFirstDeadLetter: a joined consumer has
// already created its dead-letter topics with the broker's default
// partitions, so the first dead letter does not wait for the topic to be
// auto-created and found.
func testDeadLetterTopicsExistBeforeTheFirstDeadLetter(t *testing.T, e *env) {
	r := e.start(e.config(e.group("payment"), func(context.Context, pgx.Tx, consumer.Event) error { return nil }))
	waitFor(t, 30*time.Second, "the consumer to join its group", func() bool { return r.c.Ping(t.Context()) == nil })
	// Apache Kafka answers CreateTopics before every listener's metadata
	// has the topic; nothing else creates it here (kadm's metadata requests
	// never auto-create), so it appears only if the consumer created it.
	dlq := e.topic + consumer.DLQSuffix
	var d kadm.TopicDetail
	waitFor(t, 10*time.Second, "dead-letter topic "+dlq+" to exist", func() bool {
		topics, err := e.adm.ListTopics(t.Context(), dlq)
		d = topics[dlq]
		return err == nil && d.Err == nil && len(d.Partitions) > 0
	})
	if n := len(d.Partitions); n != topicPartitions {
		t.Errorf("dead-letter topic %s has %d partitions, want the broker's default %d", dlq, n, topicPartitions)
	}
}
