package inventory

import (
	"context"
	"errors"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// Stockroom is the storage of one transaction: every call runs in it, row
// locks are held until it ends, and nothing a use case writes is visible to
// others before it commits. The storage adapter implements it.
type Stockroom interface {
	// LockStock locks the stock rows of skus for update, in SKU order,
	// and returns them by SKU; unknown SKUs are absent from the map.
	LockStock(ctx context.Context, skus []string) (map[string]*Stock, error)
	// SaveStock writes the counts of stock rows this transaction locked.
	SaveStock(ctx context.Context, stock ...*Stock) error
	// Reservation returns the reservation of orderID, or ErrNotFound.
	// With lock, its rows are locked for update.
	Reservation(ctx context.Context, orderID string, lock bool) (*Reservation, error)
	// SaveReservation inserts a new reservation (Version 0) or updates a
	// stored one, appends the events it recorded (PullEvents) to the
	// outbox and bumps its Version. A second reservation for the same
	// order, or an update that lost to a concurrent one, is ErrConflict.
	SaveReservation(ctx context.Context, r *Reservation) error
}

// The use cases below lock in one order, stock rows first (sorted by SKU),
// then reservation rows, so concurrent use cases never deadlock on each
// other.

// ReserveOrder decides the reservation of orderID's lines, once per order:
// it locks the stock of the lines' SKUs, and when the order already has a
// reservation it returns that one with decided false and changes nothing.
// Otherwise it reserves every line or none (Reserve), saves the stock it
// moved and the reservation with its event, and returns it with decided
// true. Invalid input is a *validation.Error and touches no storage.
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
	stock, err := room.LockStock(ctx, skus)
	if err != nil {
		return nil, false, err
	}
	// Looked up after the stock locks: a concurrent reservation of the same
	// order has committed by now, and this read sees it. An order whose
	// SKUs are all unknown locks nothing; there SaveReservation's
	// ErrConflict stops the second writer, whose retry finds the first.
	existing, err := room.Reservation(ctx, orderID, false)
	switch {
	case err == nil:
		return existing, false, nil
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}
	r, err = Reserve(orderID, merged, stock, now)
	if err != nil {
		return nil, false, err
	}
	if r.Status == StatusReserved {
		if err := room.SaveStock(ctx, held(r, stock)...); err != nil {
			return nil, false, err
		}
	}
	if err := room.SaveReservation(ctx, r); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// ReleaseOrder puts back the stock orderID's reservation holds (Release),
// saving the stock and the reservation with its event, and reports whether
// it released anything. An order without a reservation (r is nil), or
// whose reservation holds nothing (rejected, already released), changes
// nothing.
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
	stock, err := room.LockStock(ctx, r.SKUs())
	if err != nil {
		return nil, false, err
	}
	// Read again under the locks: a concurrent release may have won.
	if r, err = room.Reservation(ctx, orderID, true); err != nil {
		return nil, false, err
	}
	released, err = r.Release(stock, now)
	if err != nil {
		return nil, false, err
	}
	if !released {
		return r, false, nil
	}
	if err := room.SaveStock(ctx, held(r, stock)...); err != nil {
		return nil, false, err
	}
	if err := room.SaveReservation(ctx, r); err != nil {
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
