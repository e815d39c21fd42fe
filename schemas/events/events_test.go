package events

import (
	"slices"
	"testing"
)

// every payload type of the saga, one value each.
var every = []Event{
	OrderCreated{}, OrderConfirmed{}, OrderCancelled{},
	PaymentCaptured{}, PaymentFailed{}, PaymentRefunded{},
	InventoryReserved{}, InventoryRejected{}, InventoryReleased{},
}

func TestEveryTypeRoutesToItsAggregateTopic(t *testing.T) {
	if len(aggregateOf) != len(every) {
		t.Fatalf("aggregateOf has %d types, the package defines %d", len(aggregateOf), len(every))
	}
	for _, e := range every {
		got := TopicsOf(e.EventType())
		want := []string{Topic(e.AggregateType())}
		if !slices.Equal(got, want) {
			t.Errorf("TopicsOf(%s) = %v, want %v", e.EventType(), got, want)
		}
	}
}

func TestTopicsOf(t *testing.T) {
	tests := []struct {
		types []string
		want  []string
	}{
		{nil, nil},
		{[]string{TypeOrderCreated, TypeOrderCancelled}, []string{TopicOrder}},
		{[]string{TypePaymentFailed, TypeInventoryReserved, TypePaymentCaptured}, []string{TopicInventory, TopicPayment}},
	}
	for _, tc := range tests {
		if got := TopicsOf(tc.types...); !slices.Equal(got, tc.want) {
			t.Errorf("TopicsOf(%v) = %v, want %v", tc.types, got, tc.want)
		}
	}
}

func TestTopicsOfPanicsOnAnUnknownType(t *testing.T) {
	defer func() {
		if r := recover(); r != "events: unknown event type OrderShipped" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	TopicsOf("OrderShipped")
}
