package payment_test

import (
	"errors"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

func order(total int64) payment.Order {
	return payment.Order{ID: orderID, CustomerID: "cust-42", Currency: "EUR", TotalCents: total}
}

func TestNewAccount(t *testing.T) {
	for _, tc := range []struct {
		name       string
		customer   string
		currency   string
		balance    int64
		wantFields []string
	}{
		{"valid", "cust-42", "EUR", 1000, nil},
		{"no currency means euros", "cust-42", "", 1000, nil},
		{"dollars", "cust-42", "USD", 1000, nil},
		{"zero balance", "cust-42", "EUR", 0, nil},
		{"negative balance", "cust-42", "EUR", -1, []string{"balanceCents"}},
		{"balance too large", "cust-42", "EUR", payment.MaxBalanceCents + 1, []string{"balanceCents"}},
		{"empty customer and negative", "", "EUR", -5, []string{"customerId", "balanceCents"}},
		{"customer with a space", "a b", "EUR", 1, nil},
		{"blank customer", "  ", "EUR", 1, []string{"customerId"}},
		{"customer too long", string(make([]byte, 101)), "EUR", 1, []string{"customerId"}},
		{"lower-case currency", "cust-42", "usd", 1, []string{"currency"}},
		{"currency of four letters", "cust-42", "EURO", 1, []string{"currency"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := payment.NewAccount(tc.customer, tc.currency, tc.balance, now)
			if tc.wantFields == nil {
				want := tc.currency
				if want == "" {
					want = payment.DefaultCurrency
				}
				if err != nil || a.BalanceCents != tc.balance || a.Currency != want {
					t.Fatalf("NewAccount = %+v, %v", a, err)
				}
				return
			}
			var v *validation.Error
			if !errors.As(err, &v) {
				t.Fatalf("err = %v, want a *validation.Error", err)
			}
			var got []string
			for _, f := range v.Fields {
				got = append(got, f.Field)
			}
			if len(got) != len(tc.wantFields) {
				t.Fatalf("fields = %v, want %v", got, tc.wantFields)
			}
			for i := range got {
				if got[i] != tc.wantFields[i] {
					t.Fatalf("fields = %v, want %v", got, tc.wantFields)
				}
			}
		})
	}
}

func TestCharge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		account     *payment.Account
		total       int64
		wantStatus  payment.Status
		wantBalance int64
		wantReason  string
	}{
		{"covered", &payment.Account{CustomerID: "cust-42", Currency: "EUR", BalanceCents: 5000}, 2899, payment.StatusCaptured, 2101, ""},
		{"exactly covered", &payment.Account{CustomerID: "cust-42", Currency: "EUR", BalanceCents: 2899}, 2899, payment.StatusCaptured, 0, ""},
		{"insufficient", &payment.Account{CustomerID: "cust-42", Currency: "EUR", BalanceCents: 500}, 2899, payment.StatusFailed, 500, "insufficient balance: have 500, need 2899"},
		{"other currency", &payment.Account{CustomerID: "cust-42", Currency: "USD", BalanceCents: 5000}, 2899, payment.StatusFailed, 5000, "currency mismatch: the account holds USD, the order is in EUR"},
		{"no account", nil, 2899, payment.StatusFailed, 0, "no account for customer cust-42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := payment.Charge("pay-1", order(tc.total), tc.account, now)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.wantStatus || p.Reason != tc.wantReason {
				t.Fatalf("payment = %s %q, want %s %q", p.Status, p.Reason, tc.wantStatus, tc.wantReason)
			}
			if tc.account != nil && tc.account.BalanceCents != tc.wantBalance {
				t.Fatalf("balance = %d, want %d", tc.account.BalanceCents, tc.wantBalance)
			}
			evs := p.PullEvents()
			if len(evs) != 1 {
				t.Fatalf("events = %v, want one", evs)
			}
			switch e := evs[0].(type) {
			case events.PaymentCaptured:
				if tc.wantStatus != payment.StatusCaptured || e.AmountCents != tc.total || e.PaymentID != "pay-1" || e.OrderID != orderID {
					t.Fatalf("event = %+v", e)
				}
			case events.PaymentFailed:
				if tc.wantStatus != payment.StatusFailed || e.Reason != tc.wantReason || e.AmountCents != tc.total {
					t.Fatalf("event = %+v", e)
				}
			default:
				t.Fatalf("event %T", e)
			}
			if again := p.PullEvents(); len(again) != 0 {
				t.Fatalf("second PullEvents = %v, want none", again)
			}
		})
	}
}

func TestChargeRejectsBadInput(t *testing.T) {
	bad := order(-1)
	bad.Currency = "EURO"
	_, err := payment.Charge("pay-1", bad, nil, now)
	var v *validation.Error
	if !errors.As(err, &v) || len(v.Fields) != 2 {
		t.Fatalf("err = %v, want currency and totalCents invalid", err)
	}
	_, err = payment.Charge("pay-1", order(1), &payment.Account{CustomerID: "someone-else", Currency: "EUR", BalanceCents: 10}, now)
	if !errors.Is(err, payment.ErrConflict) {
		t.Fatalf("charging another customer's account: err = %v, want ErrConflict", err)
	}
}

func TestRefund(t *testing.T) {
	acct := &payment.Account{CustomerID: "cust-42", Currency: "EUR", BalanceCents: 5000}
	p, err := payment.Charge("pay-1", order(2899), acct, now)
	if err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	refunded, err := p.Refund(acct, now.Add(time.Minute))
	if err != nil || !refunded {
		t.Fatalf("Refund = %v, %v", refunded, err)
	}
	if acct.BalanceCents != 5000 || p.Status != payment.StatusRefunded {
		t.Fatalf("after refund: balance %d, status %s", acct.BalanceCents, p.Status)
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %v", evs)
	}
	if e, ok := evs[0].(events.PaymentRefunded); !ok || e.AmountCents != 2899 || e.PaymentID != "pay-1" {
		t.Fatalf("event = %#v", evs[0])
	}
	// A second refund, and a refund of a failed payment, do nothing.
	refunded, err = p.Refund(acct, now)
	if err != nil || refunded || acct.BalanceCents != 5000 || len(p.PullEvents()) != 0 {
		t.Fatalf("second refund = %v, %v; balance %d", refunded, err, acct.BalanceCents)
	}
	failed, _ := payment.Charge("pay-2", order(1_000_000), acct, now)
	failed.PullEvents()
	refunded, err = failed.Refund(acct, now)
	if err != nil || refunded || acct.BalanceCents != 5000 || len(failed.PullEvents()) != 0 {
		t.Fatalf("refund of a failed payment = %v, %v; balance %d", refunded, err, acct.BalanceCents)
	}
}
