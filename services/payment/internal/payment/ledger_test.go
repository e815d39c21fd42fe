package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// memLedger is a Ledger in memory that records the calls made on it.
type memLedger struct {
	accounts map[string]*Account
	payments map[string]*Payment // by order id
	calls    []string
	fail     error // returned by every call when set
}

func newMemLedger(accounts ...*Account) *memLedger {
	l := &memLedger{accounts: map[string]*Account{}, payments: map[string]*Payment{}}
	for _, a := range accounts {
		l.accounts[a.CustomerID] = a
	}
	return l
}

func (l *memLedger) LockAccount(_ context.Context, customerID string) (*Account, error) {
	l.calls = append(l.calls, "LockAccount")
	if l.fail != nil {
		return nil, l.fail
	}
	a, ok := l.accounts[customerID]
	if !ok {
		return nil, ErrNotFound
	}
	c := *a
	return &c, nil
}

func (l *memLedger) PaymentByOrder(_ context.Context, orderID string, lock bool) (*Payment, error) {
	l.calls = append(l.calls, fmt.Sprintf("PaymentByOrder(lock=%v)", lock))
	if l.fail != nil {
		return nil, l.fail
	}
	p, ok := l.payments[orderID]
	if !ok {
		return nil, ErrNotFound
	}
	c := *p
	return &c, nil
}

func (l *memLedger) SaveAccount(_ context.Context, a *Account) error {
	l.calls = append(l.calls, "SaveAccount")
	c := *a
	l.accounts[a.CustomerID] = &c
	return nil
}

func (l *memLedger) SavePayment(_ context.Context, p *Payment) error {
	l.calls = append(l.calls, "SavePayment")
	p.PullEvents()
	c := *p
	l.payments[p.OrderID] = &c
	return nil
}

var at = time.Date(2026, 12, 6, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))

func TestChargeOrderChargesOnce(t *testing.T) {
	l := newMemLedger(&Account{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 1000})
	order := Order{ID: "o-1", CustomerID: "cust-1", Currency: "EUR", TotalCents: 300}
	p, charged, err := ChargeOrder(t.Context(), l, order, at)
	if err != nil || !charged || p.Status != StatusCaptured || l.accounts["cust-1"].BalanceCents != 700 {
		t.Fatalf("first charge: %+v, %v, %v; balance %d", p, charged, err, l.accounts["cust-1"].BalanceCents)
	}
	if want := at.UTC().Truncate(time.Microsecond); !p.CreatedAt.Equal(want) || p.CreatedAt.Location() != time.UTC || p.CreatedAt.Nanosecond()%1000 != 0 {
		t.Fatalf("CreatedAt = %v, want %v in UTC to the microsecond", p.CreatedAt, want)
	}
	// Lock order: account, then payment.
	if got := strings.Join(l.calls, ","); got != "LockAccount,PaymentByOrder(lock=false),SaveAccount,SavePayment" {
		t.Fatalf("calls = %s", got)
	}
	again, charged, err := ChargeOrder(t.Context(), l, order, at)
	if err != nil || charged || again.ID != p.ID || l.accounts["cust-1"].BalanceCents != 700 {
		t.Fatalf("second charge: %+v, %v, %v; balance %d", again, charged, err, l.accounts["cust-1"].BalanceCents)
	}
}

func TestChargeOrderRejectsInvalidOrdersBeforeStorage(t *testing.T) {
	l := newMemLedger()
	_, _, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "", Currency: "EURO", TotalCents: -1}, at)
	if _, ok := errors.AsType[*validation.Error](err); !ok || len(l.calls) != 0 {
		t.Fatalf("err = %v, calls %v; want a validation error and no storage call", err, l.calls)
	}
}

func TestChargeOrderWithoutAccountFails(t *testing.T) {
	l := newMemLedger()
	p, charged, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "cust-9", Currency: "EUR", TotalCents: 1}, at)
	if err != nil || !charged || p.Status != StatusFailed || p.Reason != "no account for customer cust-9" {
		t.Fatalf("got %+v, %v, %v", p, charged, err)
	}
}

func TestRefundOrder(t *testing.T) {
	l := newMemLedger(&Account{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 1000})
	if p, refunded, err := RefundOrder(t.Context(), l, "o-1", at); p != nil || refunded || err != nil {
		t.Fatalf("refund of an order never charged: %+v, %v, %v", p, refunded, err)
	}
	if _, _, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "cust-1", Currency: "EUR", TotalCents: 400}, at); err != nil {
		t.Fatal(err)
	}
	l.calls = nil
	p, refunded, err := RefundOrder(t.Context(), l, "o-1", at)
	if err != nil || !refunded || p.Status != StatusRefunded || l.accounts["cust-1"].BalanceCents != 1000 {
		t.Fatalf("refund: %+v, %v, %v; balance %d", p, refunded, err, l.accounts["cust-1"].BalanceCents)
	}
	if got := strings.Join(l.calls, ","); got != "PaymentByOrder(lock=false),LockAccount,PaymentByOrder(lock=true),SaveAccount,SavePayment" {
		t.Fatalf("calls = %s", got)
	}
	if p, refunded, err := RefundOrder(t.Context(), l, "o-1", at); err != nil || refunded || p.Status != StatusRefunded || l.accounts["cust-1"].BalanceCents != 1000 {
		t.Fatalf("second refund: %+v, %v, %v", p, refunded, err)
	}
}

func TestUseCasesReturnStorageErrors(t *testing.T) {
	boom := errors.New("connection reset")
	l := newMemLedger()
	l.fail = boom
	if _, _, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "c", Currency: "EUR", TotalCents: 1}, at); !errors.Is(err, boom) {
		t.Errorf("ChargeOrder = %v, want the storage error", err)
	}
	if _, _, err := RefundOrder(t.Context(), l, "o-1", at); !errors.Is(err, boom) {
		t.Errorf("RefundOrder = %v, want the storage error", err)
	}
}
