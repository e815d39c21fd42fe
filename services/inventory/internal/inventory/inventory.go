package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

var (
	// ErrNotFound means the SKU or reservation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the stored state disagrees with the change (a
	// concurrent writer got there first, or the rows are inconsistent);
	// retrying sees the winner.
	ErrConflict = errors.New("conflict")
)

// MaxSKULen is the longest SKU, as the event schemas allow.
const MaxSKULen = 64

// MaxQuantity bounds stock levels and line quantities so sums stay far from
// overflow and fit a PostgreSQL integer.
const MaxQuantity = 1_000_000_000

// checkSKU adds a problem with sku under field to v. The rules are the
// order service's, so every SKU an order names can be stocked.
func checkSKU(v *validation.Error, field, sku string) {
	switch {
	case strings.TrimSpace(sku) == "":
		v.Add(field, "is required")
	case !utf8.ValidString(sku):
		v.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(sku) > MaxSKULen:
		v.Add(field, fmt.Sprintf("must be at most %d characters", MaxSKULen))
	}
}

// Stock is the stock level of one SKU: Available can be reserved, Reserved
// is held by orders (reserved or sold).
type Stock struct {
	SKU       string
	Available int
	Reserved  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewStock returns the stock of sku with available units and nothing
// reserved, or a *validation.Error naming "sku" and "available". Storing it
// sets the available count of an existing SKU and keeps its reserved count.
func NewStock(sku string, available int, now time.Time) (*Stock, error) {
	var v validation.Error
	checkSKU(&v, "sku", sku)
	switch {
	case available < 0:
		v.Add("available", "must be >= 0")
	case available > MaxQuantity:
		v.Add("available", fmt.Sprintf("must be <= %d", MaxQuantity))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now = instant(now)
	return &Stock{SKU: sku, Available: available, CreatedAt: now, UpdatedAt: now}, nil
}

// Line is a quantity of one SKU.
type Line struct {
	SKU      string
	Quantity int
}

// Status is where a reservation stands.
type Status string

// Reservation statuses. RESERVED and COMMITTED hold stock; RELEASED and
// REJECTED hold none.
const (
	StatusReserved  Status = "RESERVED"
	StatusCommitted Status = "COMMITTED"
	StatusReleased  Status = "RELEASED"
	StatusRejected  Status = "REJECTED"
)

// Reservation is the stock one order asked for and what became of it: at
// most one exists per order.
type Reservation struct {
	OrderID string
	// Lines has one entry per SKU, sorted by SKU.
	Lines  []Line
	Status Status
	// Version counts saves; 0 means never stored. Storage uses it to
	// detect a concurrent writer.
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time

	events []events.Event
}

// Holds reports whether the reservation holds stock.
func (r *Reservation) Holds() bool { return r.Status == StatusReserved || r.Status == StatusCommitted }

// SKUs returns the reservation's SKUs, sorted.
func (r *Reservation) SKUs() []string {
	out := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = l.SKU
	}
	return out
}

// Merge validates order lines and sums the quantities of lines with the
// same SKU, returning one line per SKU sorted by SKU.
func Merge(lines []Line) ([]Line, error) {
	var v validation.Error
	if len(lines) == 0 {
		v.Add("items", "must not be empty")
	}
	sums := map[string]int{}
	for i, l := range lines {
		field := fmt.Sprintf("items[%d]", i)
		checkSKU(&v, field+".sku", l.SKU)
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			v.Add(field+".quantity", fmt.Sprintf("must be between 1 and %d", MaxQuantity))
		}
		sums[l.SKU] += l.Quantity
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]Line, 0, len(sums))
	for sku, q := range sums {
		out = append(out, Line{SKU: sku, Quantity: q})
	}
	slices.SortFunc(out, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	return out, nil
}

// Reserve decides the reservation of orderID's lines against stock, the
// rows of those SKUs locked for update (an SKU missing from the map is
// unknown and counts as 0 available). When every SKU has enough, each
// moves its quantity from Available to Reserved and the reservation is
// RESERVED (InventoryReserved); otherwise no stock changes and it is
// REJECTED (InventoryRejected naming every short SKU).
//
// Reserve must be called at most once per order: ReserveOrder looks for an
// existing reservation first, under the same locks.
func Reserve(orderID string, lines []Line, stock map[string]*Stock, now time.Time) (*Reservation, error) {
	if orderID == "" {
		return nil, validation.Field("orderId", "is required")
	}
	merged, err := Merge(lines)
	if err != nil {
		return nil, err
	}
	now = instant(now)
	r := &Reservation{OrderID: orderID, Lines: merged, CreatedAt: now, UpdatedAt: now}
	var short []events.Shortage
	for _, l := range merged {
		available := 0
		if s := stock[l.SKU]; s != nil {
			available = s.Available
		}
		if available < l.Quantity {
			short = append(short, events.Shortage{SKU: l.SKU, Requested: l.Quantity, Available: available})
		}
	}
	if len(short) > 0 {
		names := make([]string, len(short))
		for i, s := range short {
			names[i] = fmt.Sprintf("%s (requested %d, available %d)", s.SKU, s.Requested, s.Available)
		}
		r.Status = StatusRejected
		r.events = append(r.events, events.InventoryRejected{
			OrderID: orderID, Reason: "insufficient stock: " + strings.Join(names, ", "), Shortages: short, RejectedAt: now,
		})
		return r, nil
	}
	for _, l := range merged {
		s := stock[l.SKU]
		s.Available -= l.Quantity
		s.Reserved += l.Quantity
		s.UpdatedAt = now
	}
	r.Status = StatusReserved
	r.events = append(r.events, events.InventoryReserved{OrderID: orderID, Items: items(merged), ReservedAt: now})
	return r, nil
}

// Release puts the stock the reservation holds back (Reserved to
// Available) and reports whether it did. A reservation that holds nothing
// (rejected or already released) is left alone. stock holds the rows of
// r's SKUs, locked for update.
func (r *Reservation) Release(stock map[string]*Stock, now time.Time) (bool, error) {
	if !r.Holds() {
		return false, nil
	}
	for _, l := range r.Lines {
		s := stock[l.SKU]
		if s == nil {
			return false, fmt.Errorf("release order %s: stock of %s: %w", r.OrderID, l.SKU, ErrNotFound)
		}
		if s.Reserved < l.Quantity {
			return false, fmt.Errorf("release order %s: %s has %d reserved, the order holds %d: %w", r.OrderID, l.SKU, s.Reserved, l.Quantity, ErrConflict)
		}
	}
	now = instant(now)
	for _, l := range r.Lines {
		s := stock[l.SKU]
		s.Reserved -= l.Quantity
		s.Available += l.Quantity
		s.UpdatedAt = now
	}
	r.Status = StatusReleased
	r.UpdatedAt = now
	r.events = append(r.events, events.InventoryReleased{OrderID: r.OrderID, Items: items(r.Lines), ReleasedAt: now})
	return true, nil
}

// Commit marks a RESERVED reservation COMMITTED (the order is confirmed;
// the units stay counted in Reserved) and reports whether it changed.
// No event: nobody waits for it.
func (r *Reservation) Commit(now time.Time) bool {
	if r.Status != StatusReserved {
		return false
	}
	r.Status = StatusCommitted
	r.UpdatedAt = instant(now)
	return true
}

// PullEvents returns the events recorded since the last call and forgets
// them; Stockroom.SaveReservation calls it when saving.
func (r *Reservation) PullEvents() []events.Event {
	evs := r.events
	r.events = nil
	return evs
}

// instant normalises a time to UTC at microsecond precision, what the
// database keeps, so what is emitted equals what is stored and read back.
func instant(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func items(lines []Line) []events.StockItem {
	out := make([]events.StockItem, len(lines))
	for i, l := range lines {
		out[i] = events.StockItem{SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}
