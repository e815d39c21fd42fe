package dlq

import (
	"testing"
	"time"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Ref
		wantErr bool
	}{
		{in: "outbox.event.order.dlq/2@117", want: Ref{Topic: "outbox.event.order.dlq", Partition: 2, Offset: 117}},
		{in: "t/0@0", want: Ref{Topic: "t", Partition: 0, Offset: 0}},
		{in: "outbox.event.order.dlq@117", wantErr: true},
		{in: "outbox.event.order.dlq/2", wantErr: true},
		{in: "/2@117", wantErr: true},
		{in: "t/-1@3", wantErr: true},
		{in: "t/1@-3", wantErr: true},
		{in: "t/x@3", wantErr: true},
		{in: "t@3/1", wantErr: true},
	} {
		got, err := ParseRef(tc.in)
		if (err != nil) != tc.wantErr || err == nil && got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("ParseRef(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestFilter(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	d := &DeadLetter{
		Ref: Ref{Topic: "outbox.event.order.dlq"}, Group: "payment-service", EventType: "OrderCreated", FailedAt: at,
	}
	for _, tc := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Group: "payment-service", Type: "OrderCreated", Topic: "outbox.event.order", Since: at}, true},
		{Filter{Topic: "outbox.event.order.dlq"}, true},
		{Filter{Topic: "outbox.event.payment"}, false},
		{Filter{Group: "inventory-service"}, false},
		{Filter{Type: "OrderCancelled"}, false},
		{Filter{Since: at.Add(time.Nanosecond)}, false},
	} {
		if got := tc.f.Match(d); got != tc.want {
			t.Errorf("%+v.Match = %v, want %v", tc.f, got, tc.want)
		}
	}
}
