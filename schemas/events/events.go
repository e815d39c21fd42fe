package events

import "slices"

// Aggregate types: the outbox aggregatetype column, which routes the topic.
const (
	AggregateOrder     = "order"
	AggregatePayment   = "payment"
	AggregateInventory = "inventory"
)

// Topics, one per aggregate type: outbox.event.<aggregatetype>.
const (
	TopicOrder     = "outbox.event.order"
	TopicPayment   = "outbox.event.payment"
	TopicInventory = "outbox.event.inventory"
)

// Event types (version 1): the outbox type column and the Kafka "eventType"
// header.
const (
	TypeOrderCreated   = "OrderCreated"
	TypeOrderConfirmed = "OrderConfirmed"
	TypeOrderCancelled = "OrderCancelled"

	TypePaymentCaptured = "PaymentCaptured"
	TypePaymentFailed   = "PaymentFailed"
	TypePaymentRefunded = "PaymentRefunded"

	TypeInventoryReserved = "InventoryReserved"
	TypeInventoryRejected = "InventoryRejected"
	TypeInventoryReleased = "InventoryReleased"
)

// Event is implemented by every payload type. Its methods give the outbox
// row's routing columns, so producers never spell them by hand.
type Event interface {
	// EventType is the outbox type column and the "eventType" header.
	EventType() string
	// AggregateType is the outbox aggregatetype column; it picks the topic.
	AggregateType() string
	// AggregateID is the outbox aggregateid column and the Kafka key: the
	// order id for every event of the saga.
	AggregateID() string
}

// Topic returns the topic events of aggregateType are routed to.
func Topic(aggregateType string) string { return "outbox.event." + aggregateType }

// aggregateOf maps each event type to its aggregate type.
var aggregateOf = map[string]string{
	TypeOrderCreated: AggregateOrder, TypeOrderConfirmed: AggregateOrder, TypeOrderCancelled: AggregateOrder,
	TypePaymentCaptured: AggregatePayment, TypePaymentFailed: AggregatePayment, TypePaymentRefunded: AggregatePayment,
	TypeInventoryReserved: AggregateInventory, TypeInventoryRejected: AggregateInventory, TypeInventoryReleased: AggregateInventory,
}

// TopicsOf returns the topics that carry events of the given types, sorted
// and without repeats: what a consumer of those types subscribes to. It
// panics on a type this package does not define, a programming error that
// any start-up reveals.
func TopicsOf(types ...string) []string {
	var topics []string
	for _, t := range types {
		agg, ok := aggregateOf[t]
		if !ok {
			panic("events: unknown event type " + t)
		}
		if topic := Topic(agg); !slices.Contains(topics, topic) {
			topics = append(topics, topic)
		}
	}
	slices.Sort(topics)
	return topics
}
