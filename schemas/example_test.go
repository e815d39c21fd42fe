package schemas_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// A producer encodes and validates the payload before appending the outbox
// row, so an invalid event fails the business transaction.
func ExampleMarshal() {
	e := events.OrderCancelled{
		OrderID:     "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10",
		CustomerID:  "cust-42",
		Reason:      "customer request",
		CancelledAt: time.Date(2026, 3, 14, 9, 31, 0, 0, time.UTC),
	}
	payload, err := schemas.Marshal(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.EventType(), e.AggregateType(), e.AggregateID())
	fmt.Println(string(payload))
	// Output:
	// OrderCancelled order 0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10
	// {"orderId":"0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10","customerId":"cust-42","reason":"customer request","cancelledAt":"2026-03-14T09:31:00Z"}
}

// A consumer validates on receipt and dead-letters what fails: a payload
// that breaks its schema never becomes valid on retry.
func ExampleValidate() {
	payload := []byte(`{"orderId":"0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10","reason":"","shortages":[],"rejectedAt":"2026-03-14T09:26:53Z"}`)
	err := schemas.Validate(events.TypeInventoryRejected, payload)
	var ie *schemas.InvalidError
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println(errors.Is(err, schemas.ErrInvalid))
	// Output:
	// at '/reason': minLength: got 0, want 1
	// at '/shortages': minItems: got 0, want 1
	// true
}
