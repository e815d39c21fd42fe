package order

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// Status is where an order stands in its saga.
type Status string

// The statuses; CONFIRMED and CANCELLED are final.
const (
	StatusPending   Status = "PENDING"
	StatusConfirmed Status = "CONFIRMED"
	StatusCancelled Status = "CANCELLED"
)

// ParseStatus returns the Status named s, or false when s names none.
func ParseStatus(s string) (Status, bool) {
	switch st := Status(s); st {
	case StatusPending, StatusConfirmed, StatusCancelled:
		return st, true
	}
	return "", false
}

// Final reports whether nothing can change the status any more.
func (s Status) Final() bool { return s == StatusConfirmed || s == StatusCancelled }

// HistoryEntry records one change of an order: the status after it and the
// event that caused it.
type HistoryEntry struct {
	// Seq numbers the entries of one order from 1.
	Seq int
	// Status is the order's status after the change.
	Status Status
	// EventType and EventID name the event that caused the change: the
	// order's own OrderCreated for the first entry, then the payment or
	// inventory event that arrived.
	EventType string
	EventID   uuid.UUID
	// At is when the order service applied the change.
	At time.Time
}

// Cause names the event a saga method reacts to.
type Cause struct {
	EventType string
	EventID   uuid.UUID
}

// created is the OrderCreated event Place records. It marshals to the
// OrderCreated payload unchanged; its EventID, which the outbox writer
// reads, is the id the order's first history entry names.
type created struct {
	events.OrderCreated
	id uuid.UUID
}

// EventID returns the id the event's outbox row takes.
func (c created) EventID() uuid.UUID { return c.id }

// Outcome says what a saga method did.
type Outcome int

const (
	// Applied means the order changed.
	Applied Outcome = iota + 1
	// Duplicate means the order already knew the fact; nothing changed.
	Duplicate
	// Late means the order was already CONFIRMED or CANCELLED; nothing
	// changed.
	Late
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Snapshot is the plain state of an order, for storage and presentation.
type Snapshot struct {
	ID                 string
	CustomerID         string
	Currency           string
	Items              []Item
	TotalCents         int64
	Status             Status
	CancellationReason string
	PaymentCaptured    bool
	InventoryReserved  bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	History            []HistoryEntry
	// Version counts the saved changes; 0 means never saved.
	Version int
}

// Order is the aggregate. Its zero value is not usable: build one with
// Place or Restore.
type Order struct {
	s        Snapshot
	events   []events.Event
	newSince int // index of the first history entry not yet pulled
}

// Place validates in (a *validation.Error lists every invalid field) and
// returns a new PENDING order with the given id that has recorded
// OrderCreated under createdEventID.
func Place(id string, createdEventID uuid.UUID, in NewOrder, now time.Time) (*Order, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sum, _ := total(in.Items)
	now = instant(now)
	o := &Order{s: Snapshot{
		ID:         id,
		CustomerID: in.CustomerID,
		Currency:   in.Currency,
		Items:      slices.Clone(in.Items),
		TotalCents: sum,
		Status:     StatusPending,
		CreatedAt:  now,
		UpdatedAt:  now,
	}}
	o.addHistory(Cause{EventType: events.TypeOrderCreated, EventID: createdEventID}, now)
	lines := make([]events.OrderItem, len(in.Items))
	for i, it := range in.Items {
		lines[i] = events.OrderItem{SKU: it.SKU, Quantity: it.Quantity, UnitPriceCents: it.UnitPriceCents}
	}
	o.record(created{OrderCreated: events.OrderCreated{
		OrderID:    id,
		CustomerID: in.CustomerID,
		Currency:   in.Currency,
		Items:      lines,
		TotalCents: sum,
		CreatedAt:  now,
	}, id: createdEventID})
	return o, nil
}

// Restore rebuilds an order from stored state; it has recorded nothing.
func Restore(s Snapshot) *Order {
	s.Items = slices.Clone(s.Items)
	s.History = slices.Clone(s.History)
	return &Order{s: s, newSince: len(s.History)}
}

// Snapshot returns a copy of the order's state.
func (o *Order) Snapshot() Snapshot {
	s := o.s
	s.Items = slices.Clone(o.s.Items)
	s.History = slices.Clone(o.s.History)
	return s
}

// ID returns the order id.
func (o *Order) ID() string { return o.s.ID }

// Status returns the current status.
func (o *Order) Status() Status { return o.s.Status }

// PullEvents returns the events recorded since the last call, in order,
// and forgets them. A change records its events at the time it sets as
// UpdatedAt, so those pulled after each change occurred then. The
// OrderCreated of Place names its own event id through an EventID method;
// the others leave theirs to the outbox writer.
func (o *Order) PullEvents() []events.Event {
	ev := o.events
	o.events = nil
	return ev
}

// PullHistory returns the history entries added since the order was placed,
// restored or last pulled, and marks them as pulled.
func (o *Order) PullHistory() []HistoryEntry {
	h := slices.Clone(o.s.History[o.newSince:])
	o.newSince = len(o.s.History)
	return h
}

// ApplyPaymentCaptured records that the order total was charged.
func (o *Order) ApplyPaymentCaptured(c Cause, now time.Time) Outcome {
	if o.s.Status.Final() {
		return Late
	}
	if o.s.PaymentCaptured {
		return Duplicate
	}
	o.s.PaymentCaptured = true
	o.progress(c, now)
	return Applied
}

// ApplyInventoryReserved records that stock for every line is held.
func (o *Order) ApplyInventoryReserved(c Cause, now time.Time) Outcome {
	if o.s.Status.Final() {
		return Late
	}
	if o.s.InventoryReserved {
		return Duplicate
	}
	o.s.InventoryReserved = true
	o.progress(c, now)
	return Applied
}

// ApplyPaymentFailed cancels the order because the payment failed.
func (o *Order) ApplyPaymentFailed(c Cause, reason string, now time.Time) Outcome {
	return o.cancel(c, because("payment failed", reason), now)
}

// ApplyInventoryRejected cancels the order because stock could not be held.
func (o *Order) ApplyInventoryRejected(c Cause, reason string, now time.Time) Outcome {
	return o.cancel(c, because("inventory rejected", reason), now)
}

// progress confirms the order once both halves of the saga have succeeded;
// until then it only notes the step in the history.
func (o *Order) progress(c Cause, now time.Time) {
	now = instant(now)
	o.s.UpdatedAt = now
	if o.s.PaymentCaptured && o.s.InventoryReserved {
		o.s.Status = StatusConfirmed
		o.record(events.OrderConfirmed{
			OrderID:     o.s.ID,
			CustomerID:  o.s.CustomerID,
			TotalCents:  o.s.TotalCents,
			Currency:    o.s.Currency,
			ConfirmedAt: now,
		})
	}
	o.addHistory(c, now)
}

func (o *Order) cancel(c Cause, reason string, now time.Time) Outcome {
	if o.s.Status.Final() {
		return Late
	}
	now = instant(now)
	o.s.Status = StatusCancelled
	o.s.CancellationReason = reason
	o.s.UpdatedAt = now
	o.addHistory(c, now)
	o.record(events.OrderCancelled{
		OrderID:     o.s.ID,
		CustomerID:  o.s.CustomerID,
		Reason:      reason,
		CancelledAt: now,
	})
	return Applied
}

// instant normalises a time to UTC at microsecond precision, what the
// database keeps, so a stored order reads back exactly as it was built.
func instant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// because prefixes the peer's reason with what failed; an empty reason
// leaves the prefix alone.
func because(what, reason string) string {
	if strings.TrimSpace(reason) == "" {
		return what
	}
	return what + ": " + reason
}

func (o *Order) addHistory(c Cause, at time.Time) {
	o.s.History = append(o.s.History, HistoryEntry{
		Seq:       len(o.s.History) + 1,
		Status:    o.s.Status,
		EventType: c.EventType,
		EventID:   c.EventID,
		At:        at,
	})
}

func (o *Order) record(ev events.Event) { o.events = append(o.events, ev) }

// Filter selects orders for a listing.
type Filter struct {
	// CustomerID and Status narrow the list when not empty.
	CustomerID string
	Status     Status
	// Limit caps the number of orders returned.
	Limit int
}
