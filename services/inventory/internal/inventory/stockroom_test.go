package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
)

// room is an in-memory Stockroom: it hands out copies, as storage does,
// and records each call and the events of every saved reservation. Like
// the adapter, SaveReservation writes everything it is given or, on an
// error, nothing.
type room struct {
	stock        map[string]inventory.Stock
	reservations map[string]inventory.Reservation
	calls        []string
	emitted      []events.Event
	// fail makes the named method return the error.
	fail map[string]error
}

func newRoom(levels map[string]int) *room {
	r := &room{stock: map[string]inventory.Stock{}, reservations: map[string]inventory.Reservation{}}
	for sku, n := range levels {
		r.stock[sku] = inventory.Stock{SKU: sku, Available: n}
	}
	return r
}

func (r *room) call(name string, args ...any) error {
	r.calls = append(r.calls, strings.TrimSpace(name+" "+fmt.Sprint(args...)))
	return r.fail[name]
}

// LockStock is recorded as "LockStock [SKUs] and reservation", with
// " for update" when it locks the reservation; fail["LockStock"] fails it.
func (r *room) LockStock(_ context.Context, skus []string, orderID string, lockReservation bool) (map[string]*inventory.Stock, *inventory.Reservation, error) {
	what := "and reservation"
	if lockReservation {
		what += " for update"
	}
	r.calls = append(r.calls, fmt.Sprint("LockStock ", skus, " ", what))
	if err := r.fail["LockStock"]; err != nil {
		return nil, nil, err
	}
	out := map[string]*inventory.Stock{}
	for _, sku := range skus {
		if s, ok := r.stock[sku]; ok {
			out[sku] = &s
		}
	}
	res, ok := r.reservations[orderID]
	if !ok {
		return out, nil, nil
	}
	res.Lines = slices.Clone(res.Lines)
	return out, &res, nil
}

func (r *room) Reservation(_ context.Context, orderID string, lock bool) (*inventory.Reservation, error) {
	name := "Reservation"
	if lock {
		name += " for update"
	}
	if err := r.call(name); err != nil {
		return nil, err
	}
	res, ok := r.reservations[orderID]
	if !ok {
		return nil, fmt.Errorf("reservation of %s: %w", orderID, inventory.ErrNotFound)
	}
	res.Lines = slices.Clone(res.Lines)
	return &res, nil
}

// SaveReservation is recorded as "SaveReservation STATUS", followed by
// the SKUs of the stock it writes, if any.
func (r *room) SaveReservation(_ context.Context, res *inventory.Reservation, stock ...*inventory.Stock) error {
	what := string(res.Status)
	if len(stock) > 0 {
		skus := make([]string, len(stock))
		for i, s := range stock {
			skus[i] = s.SKU
		}
		what += fmt.Sprint(" ", skus)
	}
	if err := r.call("SaveReservation", what); err != nil {
		return err
	}
	for _, s := range stock {
		if _, ok := r.stock[s.SKU]; !ok {
			return fmt.Errorf("stock %s: %w", s.SKU, inventory.ErrNotFound)
		}
	}
	if stored, ok := r.reservations[res.OrderID]; ok != (res.Version > 0) || ok && stored.Version != res.Version {
		return inventory.ErrConflict
	}
	for _, s := range stock {
		r.stock[s.SKU] = *s
	}
	r.emitted = append(r.emitted, res.PullEvents()...)
	res.Version++
	stored := *res
	stored.Lines = slices.Clone(res.Lines)
	r.reservations[res.OrderID] = stored
	return nil
}

// levels returns the room's stock as [available, reserved] by SKU.
func (r *room) levels() map[string][2]int {
	out := map[string][2]int{}
	for sku, s := range r.stock {
		out[sku] = [2]int{s.Available, s.Reserved}
	}
	return out
}

// types returns the type of every event saved, in order.
func (r *room) types() []string {
	out := make([]string, len(r.emitted))
	for i, e := range r.emitted {
		out[i] = e.EventType()
	}
	return out
}

func TestReserveOrderDecidesOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lines      []inventory.Line
		wantStatus inventory.Status
		wantLevels map[string][2]int
		wantCalls  []string
	}{
		{
			name:       "reserved",
			lines:      []inventory.Line{{"B", 1}, {"A", 2}},
			wantStatus: inventory.StatusReserved,
			wantLevels: map[string][2]int{"A": {3, 2}, "B": {0, 1}},
			wantCalls:  []string{"LockStock [A B] and reservation", "SaveReservation RESERVED [A B]"},
		},
		{
			name:       "rejected moves no stock",
			lines:      []inventory.Line{{"A", 2}, {"B", 2}},
			wantStatus: inventory.StatusRejected,
			wantLevels: map[string][2]int{"A": {5, 0}, "B": {1, 0}},
			wantCalls:  []string{"LockStock [A B] and reservation", "SaveReservation REJECTED"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := newRoom(map[string]int{"A": 5, "B": 1})
			r, decided, err := inventory.ReserveOrder(t.Context(), rm, orderID, tc.lines, now)
			if err != nil || !decided || r.Status != tc.wantStatus {
				t.Fatalf("ReserveOrder = %+v, %v, %v; want %s decided", r, decided, err, tc.wantStatus)
			}
			if !reflect.DeepEqual(rm.calls, tc.wantCalls) {
				t.Fatalf("calls = %q, want %q (stock locked before the reservation is read)", rm.calls, tc.wantCalls)
			}
			if got := rm.levels(); !reflect.DeepEqual(got, tc.wantLevels) {
				t.Fatalf("stock = %v, want %v", got, tc.wantLevels)
			}
			if len(rm.emitted) != 1 {
				t.Fatalf("events = %v, want one", rm.emitted)
			}

			// The order again, even with other lines: the first decision stands.
			rm.calls = nil
			again, decided, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 1}}, now)
			if err != nil || decided || again.Status != tc.wantStatus {
				t.Fatalf("second ReserveOrder = %+v, %v, %v; want the stored %s, not decided", again, decided, err, tc.wantStatus)
			}
			if want := []string{"LockStock [A] and reservation"}; !reflect.DeepEqual(rm.calls, want) {
				t.Fatalf("second calls = %q, want %q (no writes)", rm.calls, want)
			}
			if got := rm.levels(); !reflect.DeepEqual(got, tc.wantLevels) || len(rm.emitted) != 1 {
				t.Fatalf("second ReserveOrder changed stock %v or emitted %v", got, rm.emitted)
			}
		})
	}
}

func TestReserveOrderRejectsInvalidInputBeforeStorage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		orderID   string
		lines     []inventory.Line
		wantField string
	}{
		{"no order id", "", []inventory.Line{{"A", 1}}, "orderId"},
		{"no lines", orderID, nil, "items"},
		{"zero quantity", orderID, []inventory.Line{{"A", 0}}, "items[0].quantity"},
		{"blank sku", orderID, []inventory.Line{{"A", 1}, {" ", 1}}, "items[1].sku"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := newRoom(map[string]int{"A": 5})
			_, _, err := inventory.ReserveOrder(t.Context(), rm, tc.orderID, tc.lines, now)
			v, ok := errors.AsType[*validation.Error](err)
			if !ok || len(v.Fields) != 1 || v.Fields[0].Field != tc.wantField {
				t.Fatalf("err = %v, want a validation error naming %s", err, tc.wantField)
			}
			if len(rm.calls) != 0 {
				t.Fatalf("calls = %q, want none", rm.calls)
			}
		})
	}
}

func TestReleaseOrder(t *testing.T) {
	rm := newRoom(map[string]int{"A": 5, "B": 1})
	if _, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 2}, {"B", 1}}, now); err != nil {
		t.Fatal(err)
	}
	rm.calls = nil
	r, released, err := inventory.ReleaseOrder(t.Context(), rm, orderID, now)
	if err != nil || !released || r.Status != inventory.StatusReleased {
		t.Fatalf("ReleaseOrder = %+v, %v, %v", r, released, err)
	}
	want := []string{"Reservation", "LockStock [A B] and reservation for update", "SaveReservation RELEASED [A B]"}
	if !reflect.DeepEqual(rm.calls, want) {
		t.Fatalf("calls = %q, want %q (stock locked before the reservation)", rm.calls, want)
	}
	if got := rm.levels(); !reflect.DeepEqual(got, map[string][2]int{"A": {5, 0}, "B": {1, 0}}) {
		t.Fatalf("stock = %v, want everything back", got)
	}
	if got := rm.types(); !reflect.DeepEqual(got, []string{events.TypeInventoryReserved, events.TypeInventoryReleased}) {
		t.Fatalf("events = %v", got)
	}
}

func TestReleaseOrderHoldingNothingChangesNothing(t *testing.T) {
	rm := newRoom(map[string]int{"A": 1, "B": 5})
	rejected, released := orderID, "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b11"
	if _, _, err := inventory.ReserveOrder(t.Context(), rm, rejected, []inventory.Line{{"A", 2}}, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inventory.ReserveOrder(t.Context(), rm, released, []inventory.Line{{"B", 2}}, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inventory.ReleaseOrder(t.Context(), rm, released, now); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, orderID string
		wantStatus    inventory.Status
	}{
		{"unknown order", "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b12", ""},
		{"rejected", rejected, inventory.StatusRejected},
		{"already released", released, inventory.StatusReleased},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm.calls, rm.emitted = nil, nil
			r, changed, err := inventory.ReleaseOrder(t.Context(), rm, tc.orderID, now)
			if err != nil || changed || (r == nil) != (tc.wantStatus == "") || r != nil && r.Status != tc.wantStatus {
				t.Fatalf("ReleaseOrder = %+v, %v, %v; want %q unchanged", r, changed, err, tc.wantStatus)
			}
			if !reflect.DeepEqual(rm.calls, []string{"Reservation"}) || len(rm.emitted) != 0 {
				t.Fatalf("calls = %q, events = %v; want one read", rm.calls, rm.emitted)
			}
		})
	}
	if got := rm.levels(); !reflect.DeepEqual(got, map[string][2]int{"A": {1, 0}, "B": {5, 0}}) {
		t.Fatalf("stock = %v", got)
	}
}

func TestCommitOrder(t *testing.T) {
	rm := newRoom(map[string]int{"A": 5})
	if _, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 2}}, now); err != nil {
		t.Fatal(err)
	}
	rm.emitted = nil
	for _, tc := range []struct {
		name, orderID string
		wantCommitted bool
		wantStatus    inventory.Status
		wantCalls     []string
	}{
		{"reserved", orderID, true, inventory.StatusCommitted, []string{"Reservation for update", "SaveReservation COMMITTED"}},
		{"already committed", orderID, false, inventory.StatusCommitted, []string{"Reservation for update"}},
		{"unknown order", "0193b6f2-7c1e-7a40-9d2b-4f1c8e2a6b12", false, "", []string{"Reservation for update"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm.calls = nil
			r, committed, err := inventory.CommitOrder(t.Context(), rm, tc.orderID, now)
			if err != nil || committed != tc.wantCommitted || (r == nil) != (tc.wantStatus == "") || r != nil && r.Status != tc.wantStatus {
				t.Fatalf("CommitOrder = %+v, %v, %v; want %q, committed %v", r, committed, err, tc.wantStatus, tc.wantCommitted)
			}
			if !reflect.DeepEqual(rm.calls, tc.wantCalls) {
				t.Fatalf("calls = %q, want %q", rm.calls, tc.wantCalls)
			}
		})
	}
	if got := rm.levels()["A"]; got != [2]int{3, 2} || len(rm.emitted) != 0 {
		t.Fatalf("A = %v, events %v; want [3 2] and no event", got, rm.emitted)
	}
}

// TestUseCasesReturnStorageErrors fails each storage call a use case makes
// in turn: the error comes back as it is, for the caller to retry, and
// nothing is written.
func TestUseCasesReturnStorageErrors(t *testing.T) {
	lost := fmt.Errorf("lost: %w", inventory.ErrConflict)
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *room)
		run   func(*testing.T, *room) error
		calls []string
	}{
		{
			name: "ReserveOrder",
			run: func(t *testing.T, rm *room) error {
				_, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 1}}, now)
				return err
			},
			calls: []string{"LockStock", "SaveReservation"},
		},
		{
			name: "ReleaseOrder",
			setup: func(t *testing.T, rm *room) {
				if _, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 1}}, now); err != nil {
					t.Fatal(err)
				}
			},
			run: func(t *testing.T, rm *room) error {
				_, _, err := inventory.ReleaseOrder(t.Context(), rm, orderID, now)
				return err
			},
			calls: []string{"Reservation", "LockStock", "SaveReservation"},
		},
		{
			name: "CommitOrder",
			setup: func(t *testing.T, rm *room) {
				if _, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 1}}, now); err != nil {
					t.Fatal(err)
				}
			},
			run: func(t *testing.T, rm *room) error {
				_, _, err := inventory.CommitOrder(t.Context(), rm, orderID, now)
				return err
			},
			calls: []string{"Reservation for update", "SaveReservation"},
		},
	} {
		for _, call := range tc.calls {
			t.Run(tc.name+"/"+call, func(t *testing.T) {
				rm := newRoom(map[string]int{"A": 5})
				if tc.setup != nil {
					tc.setup(t, rm)
				}
				levels, saved := rm.levels(), len(rm.reservations)
				// "Reservation for update" fails only the locking read.
				rm.fail = map[string]error{call: lost}
				if err := tc.run(t, rm); !errors.Is(err, lost) {
					t.Fatalf("err = %v, want the storage error", err)
				}
				if got := rm.levels(); !reflect.DeepEqual(got, levels) || len(rm.reservations) != saved {
					t.Fatalf("stock %v, %d reservations after the failure; want %v, %d", got, len(rm.reservations), levels, saved)
				}
			})
		}
	}
}

// TestReleaseOrderOnInconsistentStockIsConflict: stock that holds less
// than the reservation says is reported, not papered over.
func TestReleaseOrderOnInconsistentStockIsConflict(t *testing.T) {
	rm := newRoom(map[string]int{"A": 5})
	if _, _, err := inventory.ReserveOrder(t.Context(), rm, orderID, []inventory.Line{{"A", 3}}, now); err != nil {
		t.Fatal(err)
	}
	rm.stock["A"] = inventory.Stock{SKU: "A", Available: 2, Reserved: 1}
	if _, _, err := inventory.ReleaseOrder(t.Context(), rm, orderID, now); !errors.Is(err, inventory.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if rm.reservations[orderID].Status != inventory.StatusReserved || rm.stock["A"].Reserved != 1 {
		t.Fatal("a failed release was saved")
	}
}
