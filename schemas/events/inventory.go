package events

import "time"

// StockItem is a quantity of one SKU.
type StockItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Shortage is an order line that stock could not serve.
type Shortage struct {
	SKU       string `json:"sku"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
}

// InventoryReserved reports that stock for every line of the order is held.
type InventoryReserved struct {
	OrderID    string      `json:"orderId"`
	Items      []StockItem `json:"items"`
	ReservedAt time.Time   `json:"reservedAt"`
}

// InventoryRejected reports that stock could not be held; nothing was
// reserved.
type InventoryRejected struct {
	OrderID    string     `json:"orderId"`
	Reason     string     `json:"reason"`
	Shortages  []Shortage `json:"shortages"`
	RejectedAt time.Time  `json:"rejectedAt"`
}

// InventoryReleased reports that stock held for a cancelled order was put
// back.
type InventoryReleased struct {
	OrderID    string      `json:"orderId"`
	Items      []StockItem `json:"items"`
	ReleasedAt time.Time   `json:"releasedAt"`
}

var (
	_ Event = InventoryReserved{}
	_ Event = InventoryRejected{}
	_ Event = InventoryReleased{}
)

// EventType returns TypeInventoryReserved.
func (InventoryReserved) EventType() string { return TypeInventoryReserved }

// AggregateType returns AggregateInventory.
func (InventoryReserved) AggregateType() string { return AggregateInventory }

// AggregateID returns the order id.
func (e InventoryReserved) AggregateID() string { return e.OrderID }

// EventType returns TypeInventoryRejected.
func (InventoryRejected) EventType() string { return TypeInventoryRejected }

// AggregateType returns AggregateInventory.
func (InventoryRejected) AggregateType() string { return AggregateInventory }

// AggregateID returns the order id.
func (e InventoryRejected) AggregateID() string { return e.OrderID }

// EventType returns TypeInventoryReleased.
func (InventoryReleased) EventType() string { return TypeInventoryReleased }

// AggregateType returns AggregateInventory.
func (InventoryReleased) AggregateType() string { return AggregateInventory }

// AggregateID returns the order id.
func (e InventoryReleased) AggregateID() string { return e.OrderID }
