package payment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

var (
	// ErrNotFound means the account or payment does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a concurrent change got there first (for example a
	// second payment for the same order); retrying sees the winner.
	ErrConflict = errors.New("conflict")
)

// MaxBalanceCents bounds a balance so that it stays an exact JSON number
// and a refund can never overflow.
const MaxBalanceCents = 1<<53 - 1

// MaxCustomerIDLen is the longest customer id, as the event schemas allow.
const MaxCustomerIDLen = 100

// checkCustomerID adds a problem with id under field to v. The rules are
// the order service's, so every order's customer can hold an account.
func checkCustomerID(v *validation.Error, field, id string) {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add(field, "is required")
	case !utf8.ValidString(id):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(id) > MaxCustomerIDLen:
		v.Add(field, fmt.Sprintf("must be at most %d characters", MaxCustomerIDLen))
	}
}

// Account is a customer's credit balance, the money payments draw on.
type Account struct {
	CustomerID string
	// Currency is the ISO 4217 code of the balance; payments in another
	// currency fail.
	Currency     string
	BalanceCents int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// DefaultCurrency is the currency of an account created without one.
const DefaultCurrency = "EUR"

// NewAccount returns an account for customerID holding balanceCents in
// currency (DefaultCurrency when empty), or a *validation.Error naming the
// fields "customerId", "currency" and "balanceCents".
func NewAccount(customerID, currency string, balanceCents int64, now time.Time) (*Account, error) {
	if currency == "" {
		currency = DefaultCurrency
	}
	var v validation.Error
	checkCustomerID(&v, "customerId", customerID)
	if !isCurrency(currency) {
		v.Add("currency", "must be a 3-letter upper-case ISO 4217 code")
	}
	checkBalance(&v, balanceCents)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now = instant(now)
	return &Account{CustomerID: customerID, Currency: currency, BalanceCents: balanceCents, CreatedAt: now, UpdatedAt: now}, nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// instant is how the domain keeps time: UTC, to the microsecond, which is
// what PostgreSQL stores, so an event carries the time its row holds.
func instant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func checkBalance(v *validation.Error, cents int64) {
	switch {
	case cents < 0:
		v.Add("balanceCents", "must be >= 0")
	case cents > MaxBalanceCents:
		v.Add("balanceCents", fmt.Sprintf("must be <= %d", MaxBalanceCents))
	}
}

// Status is where a payment stands.
type Status string

// Payment statuses. A payment is created CAPTURED or FAILED; only a
// CAPTURED one moves on, to REFUNDED.
const (
	StatusCaptured Status = "CAPTURED"
	StatusFailed   Status = "FAILED"
	StatusRefunded Status = "REFUNDED"
)

// Order is what a payment charges: the parts of OrderCreated that matter
// here.
type Order struct {
	ID         string
	CustomerID string
	Currency   string
	TotalCents int64
}

func (o Order) validate() error {
	var v validation.Error
	if o.ID == "" {
		v.Add("orderId", "is required")
	}
	checkCustomerID(&v, "customerId", o.CustomerID)
	if len(o.Currency) != 3 {
		v.Add("currency", "must be a 3-letter code")
	}
	if o.TotalCents < 0 {
		v.Add("totalCents", "must be >= 0")
	}
	return v.Err()
}

// Payment is the settlement of one order: at most one exists per order.
type Payment struct {
	ID          string
	OrderID     string
	CustomerID  string
	AmountCents int64
	Currency    string
	Status      Status
	// Reason says why a FAILED payment failed; empty otherwise.
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time

	events []events.Event
}

// Charge settles order against acct, the customer's account locked for
// update (nil when the customer has none). When the balance covers the
// total it is debited and the payment is CAPTURED (PaymentCaptured);
// otherwise nothing is debited and the payment is FAILED with the reason
// (PaymentFailed). id becomes the payment id.
//
// Charge must be called at most once per order: the caller looks for an
// existing payment first, under the same lock.
func Charge(id string, order Order, acct *Account, now time.Time) (*Payment, error) {
	if err := order.validate(); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, validation.Field("paymentId", "is required")
	}
	if acct != nil && acct.CustomerID != order.CustomerID {
		return nil, fmt.Errorf("charge order %s of customer %s to the account of %s: %w", order.ID, order.CustomerID, acct.CustomerID, ErrConflict)
	}
	now = instant(now)
	p := &Payment{
		ID: id, OrderID: order.ID, CustomerID: order.CustomerID, AmountCents: order.TotalCents,
		Currency: order.Currency, CreatedAt: now, UpdatedAt: now,
	}
	switch {
	case acct == nil:
		p.fail("no account for customer " + order.CustomerID)
	case acct.Currency != order.Currency:
		p.fail(fmt.Sprintf("currency mismatch: the account holds %s, the order is in %s", acct.Currency, order.Currency))
	case acct.BalanceCents < order.TotalCents:
		p.fail(fmt.Sprintf("insufficient balance: have %d, need %d", acct.BalanceCents, order.TotalCents))
	default:
		acct.BalanceCents -= order.TotalCents
		acct.UpdatedAt = now
		p.Status = StatusCaptured
		p.events = append(p.events, events.PaymentCaptured{
			PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID,
			AmountCents: p.AmountCents, Currency: p.Currency, CapturedAt: now,
		})
	}
	return p, nil
}

func (p *Payment) fail(reason string) {
	p.Status = StatusFailed
	p.Reason = reason
	p.events = append(p.events, events.PaymentFailed{
		OrderID: p.OrderID, CustomerID: p.CustomerID, AmountCents: p.AmountCents,
		Currency: p.Currency, Reason: reason, FailedAt: p.CreatedAt,
	})
}

// Refund gives a CAPTURED payment back to acct, the payer's account locked
// for update, and reports whether it did. A payment that is not CAPTURED
// (it failed, or was already refunded) is left alone and Refund returns
// false: cancelling an order that was never charged costs nothing.
func (p *Payment) Refund(acct *Account, now time.Time) (bool, error) {
	if p.Status != StatusCaptured {
		return false, nil
	}
	if acct == nil || acct.CustomerID != p.CustomerID {
		return false, fmt.Errorf("refund payment %s: account of customer %s: %w", p.ID, p.CustomerID, ErrNotFound)
	}
	if acct.BalanceCents > math.MaxInt64-p.AmountCents {
		return false, fmt.Errorf("refund payment %s: balance of customer %s would overflow: %w", p.ID, p.CustomerID, ErrConflict)
	}
	now = instant(now)
	acct.BalanceCents += p.AmountCents
	acct.UpdatedAt = now
	p.Status = StatusRefunded
	p.UpdatedAt = now
	p.events = append(p.events, events.PaymentRefunded{
		PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID,
		AmountCents: p.AmountCents, Currency: p.Currency, RefundedAt: now,
	})
	return true, nil
}

// PullEvents returns the events recorded since the last call and forgets
// them; the repository calls it when saving.
func (p *Payment) PullEvents() []events.Event {
	evs := p.events
	p.events = nil
	return evs
}
