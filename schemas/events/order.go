package events

import "time"

// OrderItem is one ordered line.
type OrderItem struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// OrderCreated starts the saga: an order was placed.
type OrderCreated struct {
	OrderID    string      `json:"orderId"`
	CustomerID string      `json:"customerId"`
	Currency   string      `json:"currency"`
	Items      []OrderItem `json:"items"`
	TotalCents int64       `json:"totalCents"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// OrderConfirmed ends the saga successfully: stock is reserved and payment
// captured.
type OrderConfirmed struct {
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	TotalCents  int64     `json:"totalCents"`
	Currency    string    `json:"currency"`
	ConfirmedAt time.Time `json:"confirmedAt"`
}

// OrderCancelled ends the saga unsuccessfully; reserved stock is released
// and a captured payment refunded in response.
type OrderCancelled struct {
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

var (
	_ Event = OrderCreated{}
	_ Event = OrderConfirmed{}
	_ Event = OrderCancelled{}
)

// EventType returns TypeOrderCreated.
func (OrderCreated) EventType() string { return TypeOrderCreated }

// AggregateType returns AggregateOrder.
func (OrderCreated) AggregateType() string { return AggregateOrder }

// AggregateID returns the order id.
func (e OrderCreated) AggregateID() string { return e.OrderID }

// EventType returns TypeOrderConfirmed.
func (OrderConfirmed) EventType() string { return TypeOrderConfirmed }

// AggregateType returns AggregateOrder.
func (OrderConfirmed) AggregateType() string { return AggregateOrder }

// AggregateID returns the order id.
func (e OrderConfirmed) AggregateID() string { return e.OrderID }

// EventType returns TypeOrderCancelled.
func (OrderCancelled) EventType() string { return TypeOrderCancelled }

// AggregateType returns AggregateOrder.
func (OrderCancelled) AggregateType() string { return AggregateOrder }

// AggregateID returns the order id.
func (e OrderCancelled) AggregateID() string { return e.OrderID }
