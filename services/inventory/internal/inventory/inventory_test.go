package inventory_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
)

var now = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

const orderID = "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b10"

func stock(levels map[string]int) map[string]*inventory.Stock {
	out := map[string]*inventory.Stock{}
	for sku, n := range levels {
		out[sku] = &inventory.Stock{SKU: sku, Available: n}
	}
	return out
}

func levels(s map[string]*inventory.Stock) map[string][2]int {
	out := map[string][2]int{}
	for sku, st := range s {
		out[sku] = [2]int{st.Available, st.Reserved}
	}
	return out
}

func TestNewStock(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sku       string
		available int
		wantErr   bool
	}{
		{"valid", "BOOK-1", 5, false},
		{"zero", "BOOK-1", 0, false},
		{"negative", "BOOK-1", -1, true},
		{"too many", "BOOK-1", inventory.MaxQuantity + 1, true},
		{"empty sku", "", 1, true},
		{"sku with a space", "BOOK 1", 1, false},
		{"blank sku", " ", 1, true},
		{"sku too long", string(make([]byte, 65)), 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.NewStock(tc.sku, tc.available, now)
			var v *validation.Error
			if tc.wantErr != errors.As(err, &v) {
				t.Fatalf("err = %v, want validation error %v", err, tc.wantErr)
			}
		})
	}
}

func TestReserve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		stock      map[string]int
		lines      []inventory.Line
		wantStatus inventory.Status
		wantLevels map[string][2]int
		wantShort  []events.Shortage
	}{
		{
			name:       "every line covered",
			stock:      map[string]int{"A": 5, "B": 1},
			lines:      []inventory.Line{{"B", 1}, {"A", 2}},
			wantStatus: inventory.StatusReserved,
			wantLevels: map[string][2]int{"A": {3, 2}, "B": {0, 1}},
		},
		{
			name:       "same SKU twice is summed",
			stock:      map[string]int{"A": 5},
			lines:      []inventory.Line{{"A", 2}, {"A", 3}},
			wantStatus: inventory.StatusReserved,
			wantLevels: map[string][2]int{"A": {0, 5}},
		},
		{
			name:       "summed lines exceed the stock",
			stock:      map[string]int{"A": 4},
			lines:      []inventory.Line{{"A", 2}, {"A", 3}},
			wantStatus: inventory.StatusRejected,
			wantLevels: map[string][2]int{"A": {4, 0}},
			wantShort:  []events.Shortage{{SKU: "A", Requested: 5, Available: 4}},
		},
		{
			name:       "one short SKU rejects all",
			stock:      map[string]int{"A": 5, "B": 0},
			lines:      []inventory.Line{{"A", 1}, {"B", 1}, {"C", 2}},
			wantStatus: inventory.StatusRejected,
			wantLevels: map[string][2]int{"A": {5, 0}, "B": {0, 0}},
			wantShort:  []events.Shortage{{SKU: "B", Requested: 1, Available: 0}, {SKU: "C", Requested: 2, Available: 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := stock(tc.stock)
			r, err := inventory.Reserve(orderID, tc.lines, st, now)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %s, want %s", r.Status, tc.wantStatus)
			}
			if got := levels(st); !reflect.DeepEqual(got, tc.wantLevels) {
				t.Fatalf("stock = %v, want %v", got, tc.wantLevels)
			}
			evs := r.PullEvents()
			if len(evs) != 1 {
				t.Fatalf("events = %v", evs)
			}
			switch e := evs[0].(type) {
			case events.InventoryReserved:
				if tc.wantStatus != inventory.StatusReserved || len(e.Items) != len(tc.wantLevels) || e.OrderID != orderID {
					t.Fatalf("event = %+v", e)
				}
			case events.InventoryRejected:
				if tc.wantStatus != inventory.StatusRejected || !reflect.DeepEqual(e.Shortages, tc.wantShort) || e.Reason == "" {
					t.Fatalf("event = %+v, want shortages %v", e, tc.wantShort)
				}
			default:
				t.Fatalf("event %T", e)
			}
		})
	}
}

func TestReserveRejectsBadLines(t *testing.T) {
	for _, lines := range [][]inventory.Line{nil, {{"A", 0}}, {{"", 1}}, {{"A", -2}}} {
		if _, err := inventory.Reserve(orderID, lines, nil, now); err == nil {
			t.Fatalf("Reserve(%v) succeeded", lines)
		}
	}
}

func TestReleaseAndCommit(t *testing.T) {
	st := stock(map[string]int{"A": 5, "B": 2})
	r, err := inventory.Reserve(orderID, []inventory.Line{{"A", 3}, {"B", 2}}, st, now)
	if err != nil {
		t.Fatal(err)
	}
	r.PullEvents()
	if !r.Commit(now) || r.Status != inventory.StatusCommitted || r.Commit(now) {
		t.Fatalf("Commit: status %s", r.Status)
	}
	if got := levels(st); !reflect.DeepEqual(got, map[string][2]int{"A": {2, 3}, "B": {0, 2}}) {
		t.Fatalf("after commit stock = %v, want unchanged counts", got)
	}
	if evs := r.PullEvents(); len(evs) != 0 {
		t.Fatalf("Commit recorded %v", evs)
	}
	released, err := r.Release(st, now)
	if err != nil || !released {
		t.Fatalf("Release = %v, %v", released, err)
	}
	if got := levels(st); !reflect.DeepEqual(got, map[string][2]int{"A": {5, 0}, "B": {2, 0}}) {
		t.Fatalf("after release stock = %v", got)
	}
	evs := r.PullEvents()
	if e, ok := evs[0].(events.InventoryReleased); len(evs) != 1 || !ok || len(e.Items) != 2 {
		t.Fatalf("events = %v", evs)
	}
	released, err = r.Release(st, now)
	if err != nil || released || len(r.PullEvents()) != 0 {
		t.Fatalf("second Release = %v, %v", released, err)
	}
}

func TestReleaseOfARejectionDoesNothing(t *testing.T) {
	st := stock(map[string]int{"A": 1})
	r, _ := inventory.Reserve(orderID, []inventory.Line{{"A", 2}}, st, now)
	r.PullEvents()
	if released, err := r.Release(st, now); err != nil || released || len(r.PullEvents()) != 0 {
		t.Fatalf("Release = %v, %v", released, err)
	}
	if r.Commit(now) {
		t.Fatal("a rejected reservation was committed")
	}
}

func TestReleaseDetectsInconsistentStock(t *testing.T) {
	st := stock(map[string]int{"A": 5})
	r, _ := inventory.Reserve(orderID, []inventory.Line{{"A", 3}}, st, now)
	st["A"].Reserved = 1
	if _, err := r.Release(st, now); !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if st["A"].Available != 2 || r.Status != inventory.StatusReserved {
		t.Fatalf("a failed release changed state: %+v %s", st["A"], r.Status)
	}
}

// TestTimesAreNormalised passes a clock reading in another zone with
// nanoseconds: everything built from it is in UTC at microseconds, what
// PostgreSQL keeps, so what is emitted equals what is stored.
func TestTimesAreNormalised(t *testing.T) {
	reading := time.Date(2026, 3, 14, 10, 26, 53, 123456789, time.FixedZone("CET", 3600))
	want := time.Date(2026, 3, 14, 9, 26, 53, 123456000, time.UTC)
	check := func(what string, got time.Time) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	s, err := inventory.NewStock("A", 5, reading)
	if err != nil {
		t.Fatal(err)
	}
	check("new stock CreatedAt", s.CreatedAt)
	check("new stock UpdatedAt", s.UpdatedAt)

	st := stock(map[string]int{"A": 5})
	r, err := inventory.Reserve(orderID, []inventory.Line{{"A", 1}}, st, reading)
	if err != nil {
		t.Fatal(err)
	}
	check("reservation CreatedAt", r.CreatedAt)
	check("reservation UpdatedAt", r.UpdatedAt)
	check("reserved stock UpdatedAt", st["A"].UpdatedAt)
	check("InventoryReserved ReservedAt", r.PullEvents()[0].(events.InventoryReserved).ReservedAt)

	rejected, err := inventory.Reserve(orderID, []inventory.Line{{"B", 1}}, st, reading)
	if err != nil {
		t.Fatal(err)
	}
	check("InventoryRejected RejectedAt", rejected.PullEvents()[0].(events.InventoryRejected).RejectedAt)

	st["A"].UpdatedAt = time.Time{}
	if released, err := r.Release(st, reading); err != nil || !released {
		t.Fatalf("Release = %v, %v", released, err)
	}
	check("released reservation UpdatedAt", r.UpdatedAt)
	check("released stock UpdatedAt", st["A"].UpdatedAt)
	check("InventoryReleased ReleasedAt", r.PullEvents()[0].(events.InventoryReleased).ReleasedAt)

	committed, _ := inventory.Reserve(orderID, []inventory.Line{{"A", 1}}, st, now)
	if !committed.Commit(reading) {
		t.Fatal("Commit refused a RESERVED reservation")
	}
	check("committed reservation UpdatedAt", committed.UpdatedAt)
}
