package events

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
