package events

import "time"

// PaymentCaptured reports that the order total was charged.
type PaymentCaptured struct {
	PaymentID   string    `json:"paymentId"`
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	CapturedAt  time.Time `json:"capturedAt"`
}

// PaymentFailed reports that the order total could not be charged.
type PaymentFailed struct {
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	Reason      string    `json:"reason"`
	FailedAt    time.Time `json:"failedAt"`
}

// PaymentRefunded reports that a captured payment was given back.
type PaymentRefunded struct {
	PaymentID   string    `json:"paymentId"`
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	RefundedAt  time.Time `json:"refundedAt"`
}

var (
	_ Event = PaymentCaptured{}
	_ Event = PaymentFailed{}
	_ Event = PaymentRefunded{}
)

// EventType returns TypePaymentCaptured.
func (PaymentCaptured) EventType() string { return TypePaymentCaptured }

// AggregateType returns AggregatePayment.
func (PaymentCaptured) AggregateType() string { return AggregatePayment }

// AggregateID returns the order id, not the payment id: the saga is keyed
// by order.
func (e PaymentCaptured) AggregateID() string { return e.OrderID }

// EventType returns TypePaymentFailed.
func (PaymentFailed) EventType() string { return TypePaymentFailed }

// AggregateType returns AggregatePayment.
func (PaymentFailed) AggregateType() string { return AggregatePayment }

// AggregateID returns the order id.
func (e PaymentFailed) AggregateID() string { return e.OrderID }

// EventType returns TypePaymentRefunded.
func (PaymentRefunded) EventType() string { return TypePaymentRefunded }

// AggregateType returns AggregatePayment.
func (PaymentRefunded) AggregateType() string { return AggregatePayment }

// AggregateID returns the order id, not the payment id.
func (e PaymentRefunded) AggregateID() string { return e.OrderID }
