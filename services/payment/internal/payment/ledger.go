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
	// LockAccount locks the account of customerID for update, then reads
	// the payment of orderID, locking its row too with lockPayment: in
	// that order, so the read sees every payment of the order committed
	// before the lock was taken, and in one call, which the adapter makes
	// one round trip. Either is nil when it is not stored.
	LockAccount(ctx context.Context, customerID, orderID string, lockPayment bool) (*Account, *Payment, error)
	// PaymentByOrder returns the payment of orderID, or ErrNotFound. With
	// lock, its row is locked for update.
	PaymentByOrder(ctx context.Context, orderID string, lock bool) (*Payment, error)
	// SavePayment is a use case's one write: the balance of acct unless
	// acct is nil (the account, locked by LockAccount, whose balance p's
	// change debited or credited), p itself (inserted, or its status
	// updated) and the events p recorded (PullEvents) appended to the
	// outbox. An account that is not stored is ErrNotFound; a second
	// payment for the same order is ErrConflict. On an error the caller
	// rolls the transaction back: parts of the write may have run.
	SavePayment(ctx context.Context, p *Payment, acct *Account) error
}

// The use cases below lock in one order, the account first, then the
// payment, so concurrent use cases for one customer never deadlock.

// ChargeOrder charges order once: it locks the customer's account, and
// when the order already has a payment it returns that one with charged
// false and changes nothing. Otherwise it settles the order (Charge),
// saves the payment with its event and, when it captured, the account it
// debited (one SavePayment), and returns the payment with charged true.
// An order that breaks a rule is a *validation.Error and touches no
// storage.
func ChargeOrder(ctx context.Context, l Ledger, order Order, now time.Time) (p *Payment, charged bool, err error) {
	if err := order.validate(); err != nil {
		return nil, false, err
	}
	// The payment is looked up after the account lock: a concurrent charge
	// of the same order has committed by now, and this read sees it.
	acct, existing, err := l.LockAccount(ctx, order.CustomerID, order.ID, false)
	switch {
	case err != nil:
		return nil, false, err
	case existing != nil:
		return existing, false, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("payment id: %w", err)
	}
	if p, err = Charge(id.String(), order, acct, now); err != nil {
		return nil, false, err
	}
	// Only a capture moves money; a failed charge leaves the account (if
	// any) as it is.
	var debited *Account
	if p.Status == StatusCaptured {
		debited = acct
	}
	if err := l.SavePayment(ctx, p, debited); err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// RefundOrder gives back the order's CAPTURED payment, once: it returns
// the payment with refunded true when it refunded it, with refunded false
// when there was nothing to refund (the payment failed or was refunded
// already), and a nil payment when the order has none. A refund saves the
// account it credits and the payment with its event in one SavePayment.
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
	// Read again under the locks: a concurrent refund may have won.
	customer := p.CustomerID
	acct, p, err := l.LockAccount(ctx, customer, orderID, true)
	switch {
	case err != nil:
		return nil, false, err
	case acct == nil:
		return nil, false, fmt.Errorf("account %s: %w", customer, ErrNotFound)
	case p == nil:
		return nil, false, fmt.Errorf("payment of order %s: %w", orderID, ErrNotFound)
	}
	if refunded, err = p.Refund(acct, now); err != nil || !refunded {
		return p, false, err
	}
	if err := l.SavePayment(ctx, p, acct); err != nil {
		return nil, false, err
	}
	return p, true, nil
}
