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

// memLedger is a Ledger in memory that records the calls made on it and
// the events of every payment saved. Like the adapter, SavePayment writes
// all of its arguments or, on an error, nothing.
type memLedger struct {
	accounts map[string]*Account
	payments map[string]*Payment // by order id
	calls    []string
	emitted  int
	fail     error // returned by every call when set
	failSave error // returned by SavePayment when set
}

func newMemLedger(accounts ...*Account) *memLedger {
	l := &memLedger{accounts: map[string]*Account{}, payments: map[string]*Payment{}}
	for _, a := range accounts {
		l.accounts[a.CustomerID] = a
	}
	return l
}

func (l *memLedger) LockAccount(_ context.Context, customerID, orderID string, lockPayment bool) (*Account, *Payment, error) {
	l.calls = append(l.calls, fmt.Sprintf("LockAccount(lock payment=%v)", lockPayment))
	if l.fail != nil {
		return nil, nil, l.fail
	}
	var acct *Account
	if a, ok := l.accounts[customerID]; ok {
		c := *a
		acct = &c
	}
	var pay *Payment
	if p, ok := l.payments[orderID]; ok {
		c := *p
		pay = &c
	}
	return acct, pay, nil
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

func (l *memLedger) SavePayment(_ context.Context, p *Payment, acct *Account) error {
	name := fmt.Sprintf("SavePayment(%s", p.Status)
	if acct != nil {
		name += ", account " + acct.CustomerID
	}
	l.calls = append(l.calls, name+")")
	if l.failSave != nil {
		return l.failSave
	}
	if acct != nil {
		if _, ok := l.accounts[acct.CustomerID]; !ok {
			return fmt.Errorf("account %s: %w", acct.CustomerID, ErrNotFound)
		}
	}
	if stored, ok := l.payments[p.OrderID]; ok && stored.ID != p.ID {
		return fmt.Errorf("payment of order %s: %w", p.OrderID, ErrConflict)
	}
	if acct != nil {
		a := *acct
		l.accounts[acct.CustomerID] = &a
	}
	l.emitted += len(p.PullEvents())
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
	if got := strings.Join(l.calls, ","); got != "LockAccount(lock payment=false),SavePayment(CAPTURED, account cust-1)" {
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

func TestChargeOrderWritesOnce(t *testing.T) {
	for _, tc := range []struct {
		name        string
		accounts    []*Account
		wantStatus  Status
		wantReason  string
		wantSave    string
		wantBalance int64 // of cust-1, when it has an account
	}{
		{"captured debits the account", []*Account{{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 1000}},
			StatusCaptured, "", "SavePayment(CAPTURED, account cust-1)", 700},
		{"insufficient balance leaves the account", []*Account{{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 200}},
			StatusFailed, "insufficient balance: have 200, need 300", "SavePayment(FAILED)", 200},
		{"no account", nil, StatusFailed, "no account for customer cust-1", "SavePayment(FAILED)", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newMemLedger(tc.accounts...)
			p, charged, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "cust-1", Currency: "EUR", TotalCents: 300}, at)
			if err != nil || !charged || p.Status != tc.wantStatus || p.Reason != tc.wantReason {
				t.Fatalf("got %+v, %v, %v", p, charged, err)
			}
			want := "LockAccount(lock payment=false)," + tc.wantSave
			if got := strings.Join(l.calls, ","); got != want {
				t.Fatalf("calls = %s, want %s", got, want)
			}
			if a := l.accounts["cust-1"]; a != nil && a.BalanceCents != tc.wantBalance {
				t.Fatalf("balance = %d, want %d", a.BalanceCents, tc.wantBalance)
			}
			if l.payments["o-1"] == nil || l.emitted != 1 {
				t.Fatalf("payment %+v and %d events saved, want the payment and one event", l.payments["o-1"], l.emitted)
			}
		})
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
	if got := strings.Join(l.calls, ","); got != "PaymentByOrder(lock=false),LockAccount(lock payment=true),SavePayment(REFUNDED, account cust-1)" {
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

// TestUseCasesReturnSaveErrors: a failed write comes back as it is, and
// the use case returns no payment.
func TestUseCasesReturnSaveErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"conflict", fmt.Errorf("payment of order o-1: %w", ErrConflict)},
		{"account gone", fmt.Errorf("account cust-1: %w", ErrNotFound)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newMemLedger(&Account{CustomerID: "cust-1", Currency: "EUR", BalanceCents: 1000})
			l.failSave = tc.err
			p, charged, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "cust-1", Currency: "EUR", TotalCents: 300}, at)
			if !errors.Is(err, tc.err) || p != nil || charged {
				t.Fatalf("ChargeOrder = %+v, %v, %v; want the save's error", p, charged, err)
			}
			if l.accounts["cust-1"].BalanceCents != 1000 || len(l.payments) != 0 {
				t.Fatalf("balance %d, payments %v after a failed save", l.accounts["cust-1"].BalanceCents, l.payments)
			}

			l.failSave = nil
			if _, _, err := ChargeOrder(t.Context(), l, Order{ID: "o-1", CustomerID: "cust-1", Currency: "EUR", TotalCents: 300}, at); err != nil {
				t.Fatal(err)
			}
			l.failSave = tc.err
			p, refunded, err := RefundOrder(t.Context(), l, "o-1", at)
			if !errors.Is(err, tc.err) || p != nil || refunded {
				t.Fatalf("RefundOrder = %+v, %v, %v; want the save's error", p, refunded, err)
			}
			if l.accounts["cust-1"].BalanceCents != 700 || l.payments["o-1"].Status != StatusCaptured {
				t.Fatalf("balance %d, payment %+v after a failed refund", l.accounts["cust-1"].BalanceCents, l.payments["o-1"])
			}
		})
	}
}
