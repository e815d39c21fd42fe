package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Ledger is the storage of one transaction: every call runs in it, row
// locks are held until it ends, and nothing a use case writes is visible
// to others before it commits. The storage adapter implements it.
type Ledger interface {
	// LockAccount returns the account of customerID locked for update,
	// or ErrNotFound.
	LockAccount(ctx context.Context, customerID string) (*Account, error)
	// PaymentByOrder returns the payment of orderID, or ErrNotFound. With
	// lock, its row is locked for update.
	PaymentByOrder(ctx context.Context, orderID string, lock bool) (*Payment, error)
	// SaveAccount writes the balance of a locked account.
	SaveAccount(ctx context.Context, a *Account) error
	// SavePayment inserts p or updates its status, and appends the events
	// it recorded (PullEvents) to the outbox. A second payment for the
	// same order is ErrConflict.
	SavePayment(ctx context.Context, p *Payment) error
}

// The use cases below lock in one order, the account first, then the
// payment, so concurrent use cases for one customer never deadlock.

// ChargeOrder charges order once: it locks the customer's account, and
// when the order already has a payment it returns that one with charged
// false and changes nothing. Otherwise it settles the order (Charge),
// saves the account it debited and the payment with its event, and
// returns the payment with charged true. An order that breaks a rule is a
// *validation.Error and touches no storage.
func ChargeOrder(ctx context.Context, l Ledger, order Order, now time.Time) (p *Payment, charged bool, err error) {
	if err := order.validate(); err != nil {
		return nil, false, err
	}
	acct, err := l.LockAccount(ctx, order.CustomerID)
	switch {
	case errors.Is(err, ErrNotFound):
		acct = nil
	case err != nil:
		return nil, false, err
	}
	// Looked up after the account lock: a concurrent charge of the same
	// order has committed by now, and this read sees it.
	existing, err := l.PaymentByOrder(ctx, order.ID, false)
	switch {
	case err == nil:
		return existing, false, nil
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("payment id: %w", err)
	}
	if p, err = Charge(id.String(), order, acct, now); err != nil {
		return nil, false, err
	}
	if p.Status == StatusCaptured {
		if err := l.SaveAccount(ctx, acct); err != nil {
			return nil, false, err
		}
	}
	if err := l.SavePayment(ctx, p); err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// RefundOrder gives back the order's CAPTURED payment, once: it returns
// the payment with refunded true when it refunded it, with refunded false
// when there was nothing to refund (the payment failed or was refunded
// already), and a nil payment when the order has none.
func RefundOrder(ctx context.Context, l Ledger, orderID string, now time.Time) (p *Payment, refunded bool, err error) {
	p, err = l.PaymentByOrder(ctx, orderID, false)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case p.Status != StatusCaptured:
		return p, false, nil
	}
	acct, err := l.LockAccount(ctx, p.CustomerID)
	if err != nil {
		return nil, false, err
	}
	// Re-read under the locks: a concurrent refund may have won.
	if p, err = l.PaymentByOrder(ctx, orderID, true); err != nil {
		return nil, false, err
	}
	if refunded, err = p.Refund(acct, now); err != nil || !refunded {
		return p, false, err
	}
	if err := l.SaveAccount(ctx, acct); err != nil {
		return nil, false, err
	}
	if err := l.SavePayment(ctx, p); err != nil {
		return nil, false, err
	}
	return p, true, nil
}
