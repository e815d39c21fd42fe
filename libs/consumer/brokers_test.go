package consumer_test

import (
	"testing"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// broker is a Kafka-protocol broker the behaviour tests run against.
type broker struct {
	// addr returns the bootstrap address for t, starting a broker when
	// needed.
	addr func(t *testing.T) string
	// shared brokers outlive the test that first asks for them; tests on
	// them keep to their own topics and groups (see env).
	shared bool
}

// brokerKind names a broker implementation and prepares it for the
// subtests of t.
type brokerKind struct {
	name  string
	setup func(t *testing.T) broker
}

// brokerKinds are the brokers every behaviour test runs against:
//
//   - kfake: franz-go's in-process broker (package kfakebroker, what the
//     embedded stack runs), a fresh one per test. Always available.
//   - kafka: Apache Kafka in KRaft mode (package jvmstack, what production
//     runs), one JVM shared by all the tests under one parent test and
//     started by the first of them. Outside CI a machine without java or
//     mvn skips these tests with one line; under CI=true they fail.
var brokerKinds = []brokerKind{
	{"kfake", func(*testing.T) broker {
		return broker{addr: func(t *testing.T) string { return kafkatest.Start(t) }}
	}},
	{"kafka", func(t *testing.T) broker {
		jvmtest.LibDir(t) // one skip line for all the tests of this kind
		shared := jvmtest.NewSharedBroker(t)
		return broker{addr: func(t *testing.T) string { return shared.Broker(t).Addr() }, shared: true}
	}},
}

// scenario is a behaviour test, run once per broker kind.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

// forEachBroker runs the scenarios as subtests <kind>/<scenario> of t, one
// kind after the other, each scenario with a fresh env (database, topic,
// groups).
func forEachBroker(t *testing.T, scenarios []scenario) {
	for _, kind := range brokerKinds {
		t.Run(kind.name, func(t *testing.T) {
			b := kind.setup(t)
			for _, s := range scenarios {
				t.Run(s.name, func(t *testing.T) { s.run(t, newEnv(t, b)) })
			}
		})
	}
}

// TestConsumer runs the runtime's behaviour tests against every broker
// kind; one of them alone runs with, for example,
// go test -run 'TestConsumer/kafka/PerKeyOrder'. They are subtests of one
// test so that the shared Apache Kafka broker lives exactly as long as they
// run and the testing package stops it (TestMain has no hook after the
// tests: pgtest.Main exits). TestDeadLetterSurvivesABrokerOutage runs
// against both kinds too, each time on a broker of its own.
func TestConsumer(t *testing.T) {
	forEachBroker(t, []scenario{
		{"DuplicateDeliveryHasOneEffect", testDuplicateDeliveryHasOneEffect},
		{"PoisonRecordsGoToTheDeadLetterTopic", testPoisonRecordsGoToTheDeadLetterTopic},
		{"TransientErrorIsRetried", testTransientErrorIsRetried},
		{"ReplacementConsumerPicksUpWhatAFailingOneLeft", testReplacementConsumerPicksUpWhatAFailingOneLeft},
		{"PerKeyOrderWithConcurrentPartitionsAndRebalance", testPerKeyOrderWithConcurrentPartitionsAndRebalance},
		{"BackloggedPartitionPausesAndResumes", testBackloggedPartitionPausesAndResumes},
		{"PartitionsAreHandledConcurrently", testPartitionsAreHandledConcurrently},
		{"GracefulShutdownCommitsExactlyWhatTookEffect", testGracefulShutdownCommitsExactlyWhatTookEffect},
		{"Ping", testPing},
		{"DatabaseOutageDoesNotDeadLetter", testDatabaseOutageDoesNotDeadLetter},
		{"AbortedTransactionsAreSkipped", testAbortedTransactionsAreSkipped},
		{"DeadLetterTopicsExistBeforeTheFirstDeadLetter", testDeadLetterTopicsExistBeforeTheFirstDeadLetter},
		{"LostCommitAnswerIsNotDeadLettered", testLostCommitAnswerIsNotDeadLettered},
		{"DeadLetterTooLargeForTheBrokerMovesOn", testDeadLetterTooLargeForTheBrokerMovesOn},
		{"InboxRowsOlderThanTheRetentionArePruned", testInboxRowsOlderThanTheRetentionArePruned},
		{"MetricsCountOutcomesAndLagReachesZero", testMetricsCountOutcomesAndLagReachesZero},
	})
}
