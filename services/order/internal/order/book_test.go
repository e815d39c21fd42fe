package order

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// memBook is a Book in memory that records the calls made on it.
type memBook struct {
	orders  map[string]Snapshot
	calls   []string
	saved   []Snapshot // what each Save was given
	emitted []string   // the event types each Save drained
	saveErr error      // returned by Save when set
}

func newMemBook(orders ...*Order) *memBook {
	b := &memBook{orders: map[string]Snapshot{}}
	for _, o := range orders {
		b.orders[o.ID()] = o.Snapshot()
	}
	return b
}

func (b *memBook) Lock(_ context.Context, id string) (*Order, error) {
	b.calls = append(b.calls, "Lock")
	s, ok := b.orders[id]
	if !ok {
		return nil, ErrNotFound
	}
	return Restore(s), nil
}

func (b *memBook) Save(_ context.Context, o *Order) error {
	b.calls = append(b.calls, "Save")
	if b.saveErr != nil {
		return b.saveErr
	}
	for _, e := range o.PullEvents() {
		b.emitted = append(b.emitted, e.EventType())
	}
	o.PullHistory()
	s := o.Snapshot()
	s.Version++
	b.orders[o.ID()] = s
	b.saved = append(b.saved, s)
	return nil
}

// stored returns a placed order as storage keeps it: saved once, its
// OrderCreated already drained.
func stored(t *testing.T) *Order {
	t.Helper()
	o, err := Place("order-1", ev1, validOrder(), t0)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Snapshot()
	s.Version = 1
	return Restore(s)
}

func TestReact(t *testing.T) {
	// A reading of a clock in another zone, with nanoseconds.
	at := time.Date(2026, 3, 14, 10, 26, 53, 123456789, time.FixedZone("CET", 3600))
	capture := func(o *Order) Outcome {
		return o.ApplyPaymentCaptured(Cause{events.TypePaymentCaptured, eventID("p")}, at)
	}
	reserve := func(o *Order) Outcome {
		return o.ApplyInventoryReserved(Cause{events.TypeInventoryReserved, eventID("i")}, at)
	}
	reject := func(o *Order) Outcome {
		return o.ApplyInventoryRejected(Cause{events.TypeInventoryRejected, eventID("r")}, "out of stock", at)
	}
	tests := []struct {
		name          string
		before        []func(*Order) Outcome // applied to the stored order first
		change        func(*Order) Outcome
		outcome       Outcome
		from, to      Status
		calls         []string
		emitted       []string
		savedVersion  int // the version of the stored order afterwards
		savedHistory  int
		savedCaptured bool
	}{
		{"a first success is saved, still pending", nil, capture, Applied, StatusPending, StatusPending,
			[]string{"Lock", "Save"}, nil, 2, 2, true},
		{"the second success confirms", []func(*Order) Outcome{reserve}, capture, Applied, StatusPending, StatusConfirmed,
			[]string{"Lock", "Save"}, []string{events.TypeOrderConfirmed}, 2, 3, true},
		{"a failure cancels", nil, reject, Applied, StatusPending, StatusCancelled,
			[]string{"Lock", "Save"}, []string{events.TypeOrderCancelled}, 2, 2, false},
		{"a known fact is not saved", []func(*Order) Outcome{capture}, capture, Duplicate, StatusPending, StatusPending,
			[]string{"Lock"}, nil, 1, 2, true},
		{"a finished order is not saved", []func(*Order) Outcome{reject}, capture, Late, StatusCancelled, StatusCancelled,
			[]string{"Lock"}, nil, 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := stored(t)
			for _, f := range tt.before {
				f(o)
			}
			o.PullEvents()
			o.PullHistory()
			b := newMemBook(o)

			outcome, from, to, err := React(t.Context(), b, o.ID(), tt.change)
			if err != nil || outcome != tt.outcome || from != tt.from || to != tt.to {
				t.Fatalf("React = %v, %s → %s, %v; want %v, %s → %s", outcome, from, to, err, tt.outcome, tt.from, tt.to)
			}
			if !slices.Equal(b.calls, tt.calls) || !slices.Equal(b.emitted, tt.emitted) {
				t.Fatalf("calls %v emitted %v; want %v and %v", b.calls, b.emitted, tt.calls, tt.emitted)
			}
			s := b.orders[o.ID()]
			if s.Version != tt.savedVersion || len(s.History) != tt.savedHistory || s.PaymentCaptured != tt.savedCaptured || s.Status != tt.to {
				t.Fatalf("stored order %+v", s)
			}
			if outcome == Applied {
				want := at.UTC().Truncate(time.Microsecond)
				if !s.UpdatedAt.Equal(want) || s.UpdatedAt.Location() != time.UTC {
					t.Fatalf("UpdatedAt = %v, want %v (UTC, microseconds)", s.UpdatedAt, want)
				}
			}
		})
	}
}

func TestReactOnAnUnknownOrder(t *testing.T) {
	b := newMemBook()
	called := false
	_, _, _, err := React(t.Context(), b, "no-such-order", func(*Order) Outcome { called = true; return Applied })
	if !errors.Is(err, ErrNotFound) || called || !slices.Equal(b.calls, []string{"Lock"}) {
		t.Fatalf("React = %v, change called %v, calls %v; want ErrNotFound, no change, Lock only", err, called, b.calls)
	}
}

func TestReactReturnsTheSaveError(t *testing.T) {
	b := newMemBook(stored(t))
	b.saveErr = ErrConflict
	_, _, _, err := React(t.Context(), b, "order-1", func(o *Order) Outcome {
		return o.ApplyPaymentCaptured(Cause{events.TypePaymentCaptured, eventID("p")}, t0)
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("React = %v, want ErrConflict", err)
	}
}
