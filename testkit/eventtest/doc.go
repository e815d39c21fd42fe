// Package eventtest gives service tests events in the shape the CDC
// connector delivers them, and reads back what a service did with them: its
// inbox outcomes and the outbox rows it wrote. Import it from _test.go
// files only.
//
//	rec := eventtest.Record(t, "outbox.event.order", "OrderCreated", orderID, payload)
//	kafkatest.Produce(t, broker, rec.Topic, rec)
//	eventtest.WaitHandled(t, pool, "payment-service", eventtest.ID(rec))
//	rows := eventtest.Outbox(t, pool, eventtest.Expect{AggregateType: "payment", Validate: schemas.Validate}, orderID)
//
// # Shape
//
// A record is what Debezium's Outbox Event Router (or walrelay) produces
// from an outbox row: the key is the aggregate id, the value the payload
// JSON, and the headers are "id" (the row's UUIDv7) and "eventType". Event
// is the consumer.Event the runtime decodes from such a record, for
// handler tests that run without a broker.
//
// # Tables
//
// Outbox reads the table of libs/outbox and WaitHandled the table of
// libs/inbox, both under their default names.
package eventtest
