// Package kafkatest starts an embedded Kafka-protocol broker per test and
// offers the small helpers tests need to produce and read records over TCP.
//
//	addr := kafkatest.Start(t)              // broker on a free port, closed at cleanup
//	recs := kafkatest.Consume(t, addr, "outbox.event.order", 3, 10*time.Second)
//
// The broker is the same one the development stack runs (package
// kfakebroker), so tests exercise the real wire protocol.
package kafkatest
