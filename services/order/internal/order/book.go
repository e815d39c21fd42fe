package order

import (
	"context"
	"fmt"
)

// Book is the storage of one transaction: every call runs in it, the row
// Lock takes is held until it ends, and nothing Save writes is visible to
// others before it commits. The storage adapter implements it.
type Book interface {
	// Lock loads the order with id for change, or ErrNotFound.
	Lock(ctx context.Context, id string) (*Order, error)
	// Save writes the order, the history entries it added and the events
	// it recorded (PullEvents) to the outbox. A loaded order saved by
	// someone else since is ErrConflict.
	Save(ctx context.Context, o *Order) error
}

// React is the use case of every saga event the order service consumes:
// it locks the order id names, lets change decide (one of the Apply
// methods), and saves the order when change applied. It returns the
// outcome and the order's status before and after; ErrNotFound when there
// is no such order.
func React(ctx context.Context, b Book, id string, change func(*Order) Outcome) (outcome Outcome, before, after Status, err error) {
	o, err := b.Lock(ctx, id)
	if err != nil {
		return 0, "", "", err
	}
	before = o.Status()
	if outcome = change(o); outcome == Applied {
		if err := b.Save(ctx, o); err != nil {
			return 0, "", "", fmt.Errorf("save order %s: %w", id, err)
		}
	}
	return outcome, before, o.Status(), nil
}
