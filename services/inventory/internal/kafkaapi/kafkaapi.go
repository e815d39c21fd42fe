package kafkaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
)

// Store is the storage the handlers need: the domain's Stockroom bound to
// the consumer's transaction.
type Store interface {
	Stockroom(tx pgx.Tx) inventory.Stockroom
	// QueueLockStockOf queues on b the statement that locks, in SKU order,
	// the stock rows of skus and of the reservations of orders.
	QueueLockStockOf(b *pgx.Batch, skus, orders []string)
}

// Handlers applies order events to stock.
type Handlers struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns Handlers working through store.
func New(store Store, log *slog.Logger) *Handlers {
	return &Handlers{store: store, log: log, now: time.Now}
}

// Mux routes the order events this service reacts to.
func (h *Handlers) Mux() consumer.Mux {
	return consumer.Mux{
		events.TypeOrderCreated:   consumer.On(h.orderCreated),
		events.TypeOrderCancelled: consumer.On(h.orderCancelled),
		events.TypeOrderConfirmed: consumer.On(h.orderConfirmed),
	}
}

// LockBatch locks, before a batch of events is applied, every stock row
// the batch will update: the SKUs of the orders it reserves and those held
// by the orders it releases, in SKU order (consumer.Config.LockBatch). An
// event whose payload does not decode locks nothing here; its handler
// rejects it.
func (h *Handlers) LockBatch(_ context.Context, b *pgx.Batch, evs []consumer.Event) error {
	var skus, orders []string
	for _, ev := range evs {
		switch ev.Type {
		case events.TypeOrderCreated:
			var p events.OrderCreated
			if json.Unmarshal(ev.Payload, &p) == nil {
				for _, it := range p.Items {
					skus = append(skus, it.SKU)
				}
			}
		case events.TypeOrderCancelled:
			var p events.OrderCancelled
			if json.Unmarshal(ev.Payload, &p) == nil && uuid.Validate(p.OrderID) == nil {
				orders = append(orders, p.OrderID)
			}
		}
	}
	if len(skus) == 0 && len(orders) == 0 {
		return nil
	}
	h.store.QueueLockStockOf(b, skus, orders)
	return nil
}

// orderCreated reserves the order's lines, once per order.
func (h *Handlers) orderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.OrderCreated) error {
	tracing.SetOrderID(ctx, p.OrderID)
	lines := make([]inventory.Line, len(p.Items))
	for i, it := range p.Items {
		lines[i] = inventory.Line{SKU: it.SKU, Quantity: it.Quantity}
	}
	r, decided, err := inventory.ReserveOrder(ctx, h.store.Stockroom(tx), p.OrderID, lines, h.now())
	if err != nil {
		return consumerError(p.OrderID, err)
	}
	if !decided {
		h.log.InfoContext(ctx, "order already has a reservation; not reserving again",
			"order_id", p.OrderID, "status", r.Status, "event_id", ev.ID)
		return nil
	}
	h.log.DebugContext(ctx, "order stock decided", "order_id", r.OrderID, "status", r.Status, "lines", len(r.Lines), "event_id", ev.ID)
	return nil
}

// orderCancelled releases the stock the order holds, if any.
func (h *Handlers) orderCancelled(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.OrderCancelled) error {
	tracing.SetOrderID(ctx, p.OrderID)
	r, released, err := inventory.ReleaseOrder(ctx, h.store.Stockroom(tx), p.OrderID, h.now())
	if err != nil {
		return consumerError(p.OrderID, err)
	}
	if released {
		h.log.DebugContext(ctx, "order stock released", "order_id", r.OrderID, "lines", len(r.Lines), "event_id", ev.ID)
	}
	return nil
}

// orderConfirmed marks the order's reservation COMMITTED.
func (h *Handlers) orderConfirmed(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.OrderConfirmed) error {
	tracing.SetOrderID(ctx, p.OrderID)
	r, _, err := inventory.CommitOrder(ctx, h.store.Stockroom(tx), p.OrderID, h.now())
	if err != nil {
		return consumerError(p.OrderID, err)
	}
	if r == nil {
		h.log.WarnContext(ctx, "confirmed order has no reservation", "order_id", p.OrderID, "event_id", ev.ID)
	}
	return nil
}

// consumerError names the order in err. The consumer runtime dead-letters
// a *validation.Error at once (no retry changes the event) and retries the
// rest.
func consumerError(orderID string, err error) error {
	return fmt.Errorf("order %s: %w", orderID, err)
}
