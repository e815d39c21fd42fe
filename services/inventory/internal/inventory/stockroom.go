package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// Stockroom is the storage of one transaction: every call runs in it, row
// locks are held until it ends, and nothing a use case writes is visible to
// others before it commits. The storage adapter implements it.
type Stockroom interface {
	// LockStock locks the stock rows of skus for update, in SKU order,
	// and returns them by SKU (unknown SKUs are absent from the map); then
	// it reads the reservation of orderID, nil when there is none, locking
	// its rows too with lockReservation. In that order, so the read sees
	// every reservation of the order committed before the locks were
	// taken, and in one call, which the adapter makes one round trip.
	LockStock(ctx context.Context, skus []string, orderID string, lockReservation bool) (map[string]*Stock, *Reservation, error)
	// Reservation returns the reservation of orderID, or ErrNotFound.
	// With lock, its rows are locked for update.
	Reservation(ctx context.Context, orderID string, lock bool) (*Reservation, error)
	// SaveReservation is a use case's one write: the counts of stock
	// (rows this transaction locked; one that is not stored is
	// ErrNotFound), r itself (inserted when new, Version 0, otherwise
	// updated) and the events r recorded (PullEvents) appended to the
	// outbox. Once all of it is written it bumps r's Version. A second
	// reservation for the same order, or an update that lost to a
	// concurrent one, is ErrConflict. On an error the caller rolls the
	// transaction back: parts of the write may have run.
	SaveReservation(ctx context.Context, r *Reservation, stock ...*Stock) error
}

// The use cases below lock in one order, stock rows first (sorted by SKU),
// then reservation rows, so concurrent use cases never deadlock on each
// other.

// ReserveOrder decides the reservation of orderID's lines, once per order:
// it locks the stock of the lines' SKUs, and when the order already has a
// reservation it returns that one with decided false and changes nothing.
// Otherwise it reserves every line or none (Reserve), saves the
// reservation with its event and the stock it moved (one
// SaveReservation), and returns it with decided true. Invalid input is a
// *validation.Error and touches no storage.
func ReserveOrder(ctx context.Context, room Stockroom, orderID string, lines []Line, now time.Time) (r *Reservation, decided bool, err error) {
	if orderID == "" {
		return nil, false, validation.Field("orderId", "is required")
	}
	merged, err := Merge(lines)
	if err != nil {
		return nil, false, err
	}
	skus := make([]string, len(merged))
	for i, l := range merged {
		skus[i] = l.SKU
	}
	// The reservation is looked up after the stock locks: a concurrent
	// reservation of the same order has committed by now, and this read
	// sees it. An order whose SKUs are all unknown locks nothing; there
	// SaveReservation's ErrConflict stops the second writer, whose retry
	// finds the first.
	stock, existing, err := room.LockStock(ctx, skus, orderID, false)
	switch {
	case err != nil:
		return nil, false, err
	case existing != nil:
		return existing, false, nil
	}
	r, err = Reserve(orderID, merged, stock, now)
	if err != nil {
		return nil, false, err
	}
	// Only a reservation moves stock; a rejection leaves it as it is.
	var moved []*Stock
	if r.Status == StatusReserved {
		moved = held(r, stock)
	}
	if err := room.SaveReservation(ctx, r, moved...); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// ReleaseOrder puts back the stock orderID's reservation holds (Release),
// saving the stock and the reservation with its event in one
// SaveReservation, and reports whether it released anything. An order
// without a reservation (r is nil), or whose reservation holds nothing
// (rejected, already released), changes nothing.
func ReleaseOrder(ctx context.Context, room Stockroom, orderID string, now time.Time) (r *Reservation, released bool, err error) {
	r, err = room.Reservation(ctx, orderID, false)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case !r.Holds():
		return r, false, nil
	}
	// Read again under the locks: a concurrent release may have won.
	stock, r, err := room.LockStock(ctx, r.SKUs(), orderID, true)
	switch {
	case err != nil:
		return nil, false, err
	case r == nil:
		return nil, false, fmt.Errorf("reservation of order %s: %w", orderID, ErrNotFound)
	}
	released, err = r.Release(stock, now)
	if err != nil {
		return nil, false, err
	}
	if !released {
		return r, false, nil
	}
	if err := room.SaveReservation(ctx, r, held(r, stock)...); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// CommitOrder marks orderID's reservation COMMITTED (Commit), saving it,
// and reports whether it changed. An order without a reservation (r is
// nil), or whose reservation is not RESERVED, changes nothing. Stock counts
// stay as they are and no event is recorded.
func CommitOrder(ctx context.Context, room Stockroom, orderID string, now time.Time) (r *Reservation, committed bool, err error) {
	r, err = room.Reservation(ctx, orderID, true)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if !r.Commit(now) {
		return r, false, nil
	}
	if err := room.SaveReservation(ctx, r); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// held returns the stock rows of r's SKUs.
func held(r *Reservation, stock map[string]*Stock) []*Stock {
	out := make([]*Stock, 0, len(r.Lines))
	for _, l := range r.Lines {
		out = append(out, stock[l.SKU])
	}
	return out
}
