package kafkaapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	saga "github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
)

// Store is the persistence the handlers need, all inside the consumer's
// transaction.
type Store interface {
	LockStock(ctx context.Context, tx pgx.Tx, skus []string) (map[string]*inventory.Stock, error)
	SaveStock(ctx context.Context, tx pgx.Tx, stock ...*inventory.Stock) error
	Reservation(ctx context.Context, tx pgx.Tx, orderID string, lock bool) (*inventory.Reservation, error)
	SaveReservation(ctx context.Context, tx pgx.Tx, r *inventory.Reservation) error
}

// Handlers applies order events to stock.
type Handlers struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns Handlers saving through store.
func New(store Store, log *slog.Logger) *Handlers {
	return &Handlers{store: store, log: log, now: time.Now}
}

// Mux routes the order events this service reacts to.
func (h *Handlers) Mux() consumer.Mux {
	return consumer.Mux{
		saga.TypeOrderCreated:   h.OrderCreated,
		saga.TypeOrderCancelled: h.OrderCancelled,
		saga.TypeOrderConfirmed: h.OrderConfirmed,
	}
}

func (h *Handlers) clock() time.Time {
	// PostgreSQL keeps microseconds; rounding here makes what the handler
	// emits equal what it stores.
	return h.now().UTC().Truncate(time.Microsecond)
}

// OrderCreated reserves the order's lines, once per order.
func (h *Handlers) OrderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	var oc saga.OrderCreated
	if err := consumer.Decode(ev, &oc); err != nil {
		return err
	}
	lines := make([]inventory.Line, len(oc.Items))
	for i, it := range oc.Items {
		lines[i] = inventory.Line{SKU: it.SKU, Quantity: it.Quantity}
	}
	merged, err := inventory.Merge(lines)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("order %s: %w", oc.OrderID, err))
	}
	skus := make([]string, len(merged))
	for i, l := range merged {
		skus[i] = l.SKU
	}
	stock, err := h.store.LockStock(ctx, tx, skus)
	if err != nil {
		return err
	}
	// Looked up after the stock locks: a concurrent reservation of the
	// same order has committed by now, and this statement sees it.
	existing, err := h.store.Reservation(ctx, tx, oc.OrderID, false)
	switch {
	case err == nil:
		h.log.InfoContext(ctx, "order already has a reservation; not reserving again",
			"order_id", oc.OrderID, "status", existing.Status, "event_id", ev.ID)
		return nil
	case !errors.Is(err, inventory.ErrNotFound):
		return err
	}
	r, err := inventory.Reserve(oc.OrderID, merged, stock, h.clock())
	if err != nil {
		return consumer.Permanent(fmt.Errorf("order %s: %w", oc.OrderID, err))
	}
	if r.Status == inventory.StatusReserved {
		if err := h.store.SaveStock(ctx, tx, held(r, stock)...); err != nil {
			return err
		}
	}
	if err := h.store.SaveReservation(ctx, tx, r); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order stock decided", "order_id", r.OrderID, "status", r.Status, "lines", len(r.Lines), "event_id", ev.ID)
	return nil
}

// OrderCancelled releases the stock the order holds, if any.
func (h *Handlers) OrderCancelled(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	var oc saga.OrderCancelled
	if err := consumer.Decode(ev, &oc); err != nil {
		return err
	}
	r, err := h.store.Reservation(ctx, tx, oc.OrderID, false)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !r.Holds():
		return nil
	}
	stock, err := h.store.LockStock(ctx, tx, r.SKUs())
	if err != nil {
		return err
	}
	// Re-read under the locks: a concurrent release may have won.
	if r, err = h.store.Reservation(ctx, tx, oc.OrderID, true); err != nil {
		return err
	}
	released, err := r.Release(stock, h.clock())
	if err != nil || !released {
		return err
	}
	if err := h.store.SaveStock(ctx, tx, held(r, stock)...); err != nil {
		return err
	}
	if err := h.store.SaveReservation(ctx, tx, r); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order stock released", "order_id", r.OrderID, "lines", len(r.Lines), "event_id", ev.ID)
	return nil
}

// OrderConfirmed marks the order's reservation COMMITTED.
func (h *Handlers) OrderConfirmed(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	var oc saga.OrderConfirmed
	if err := consumer.Decode(ev, &oc); err != nil {
		return err
	}
	r, err := h.store.Reservation(ctx, tx, oc.OrderID, true)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		h.log.WarnContext(ctx, "confirmed order has no reservation", "order_id", oc.OrderID, "event_id", ev.ID)
		return nil
	case err != nil:
		return err
	}
	if !r.Commit(h.clock()) {
		return nil
	}
	return h.store.SaveReservation(ctx, tx, r)
}

// held returns the stock rows of r's SKUs.
func held(r *inventory.Reservation, stock map[string]*inventory.Stock) []*inventory.Stock {
	out := make([]*inventory.Stock, 0, len(r.Lines))
	for _, l := range r.Lines {
		out = append(out, stock[l.SKU])
	}
	return out
}
