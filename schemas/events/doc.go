// Package events holds the Go types of the order saga's event payloads and
// the names that route them: event types, aggregate types and topics.
//
// # Contract
//
// Each struct marshals (encoding/json) to the camelCase payload its JSON
// Schema in this module describes; the type constant is the value of the
// outbox row's type column and of the Kafka "eventType" header. Every event
// of one order's saga is keyed by the order id (AggregateID), whichever
// service emits it, so a consumer sees one order's events in order.
//
//	p := events.OrderCreated{OrderID: id, CustomerID: "cust-42", ...}
//	payload, _ := json.Marshal(p)
//	// outbox row: type=p.EventType(), aggregatetype=p.AggregateType(),
//	// aggregateid=p.AggregateID(), payload=payload
//
// # Limits
//
// The types carry no validation. Fill every field: a nil slice marshals to
// null and a zero time to year 1, and only the schema validator (package
// github.com/outboxcdc/outboxcdc/schemas) catches the first. Producers call
// that validator before appending to the outbox; consumers call it on
// receipt. Ids are UUID strings and money is integer minor units (cents)
// plus an ISO 4217 code; decoding ignores properties a newer producer adds.
//
// The constants name version 1 of each event. A later incompatible version
// gets a new type string with a version suffix ("OrderCreated.v2") and a new
// struct; the v1 names never change meaning.
package events
