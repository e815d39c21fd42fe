package kafkaapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

// Store is the storage the handlers need: the domain's Book bound to the
// consumer's transaction.
type Store interface {
	Book(tx pgx.Tx) order.Book
}

// Handlers applies saga events to orders.
type Handlers struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns Handlers working through store.
func New(store Store, log *slog.Logger) *Handlers {
	return &Handlers{store: store, log: log, now: time.Now}
}

// Mux routes each event type the order service handles to its handler;
// other types are acknowledged and ignored.
func (h *Handlers) Mux() consumer.Mux {
	return consumer.Mux{
		events.TypePaymentCaptured:   consumer.On(h.paymentCaptured),
		events.TypePaymentFailed:     consumer.On(h.paymentFailed),
		events.TypeInventoryReserved: consumer.On(h.inventoryReserved),
		events.TypeInventoryRejected: consumer.On(h.inventoryRejected),
	}
}

func (h *Handlers) paymentCaptured(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.PaymentCaptured) error {
	return h.react(ctx, tx, ev, p.OrderID, func(o *order.Order, c order.Cause, now time.Time) order.Outcome {
		return o.ApplyPaymentCaptured(c, now)
	})
}

func (h *Handlers) paymentFailed(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.PaymentFailed) error {
	return h.react(ctx, tx, ev, p.OrderID, func(o *order.Order, c order.Cause, now time.Time) order.Outcome {
		return o.ApplyPaymentFailed(c, p.Reason, now)
	})
}

func (h *Handlers) inventoryReserved(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.InventoryReserved) error {
	return h.react(ctx, tx, ev, p.OrderID, func(o *order.Order, c order.Cause, now time.Time) order.Outcome {
		return o.ApplyInventoryReserved(c, now)
	})
}

func (h *Handlers) inventoryRejected(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.InventoryRejected) error {
	return h.react(ctx, tx, ev, p.OrderID, func(o *order.Order, c order.Cause, now time.Time) order.Outcome {
		return o.ApplyInventoryRejected(c, p.Reason, now)
	})
}

// react runs the domain's use case for ev on the order orderID, and logs
// what it did.
func (h *Handlers) react(ctx context.Context, tx pgx.Tx, ev consumer.Event, orderID string,
	apply func(*order.Order, order.Cause, time.Time) order.Outcome) error {
	tracing.SetOrderID(ctx, orderID)
	// The runtime hands over only events whose id is a UUID.
	eventID, err := uuid.Parse(ev.ID)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("event id %q: %w", ev.ID, err))
	}
	cause, now := order.Cause{EventType: ev.Type, EventID: eventID}, h.now()
	outcome, before, after, err := order.React(ctx, h.store.Book(tx), orderID, func(o *order.Order) order.Outcome {
		return apply(o, cause, now)
	})
	switch {
	case errors.Is(err, order.ErrNotFound):
		// Every saga event is keyed by an order this service created, but
		// the order may not be visible yet: PostgreSQL flushes a commit
		// record, which logical decoding reads and the saga answers, a
		// moment before it marks the transaction committed for other
		// sessions' snapshots, and on a busy machine that moment can
		// outlast the saga's round. So an unknown order is an error the
		// consumer retries with backoff, and dead-letters when the order
		// is still unknown after its attempts; ignored, the event would be
		// lost and the order left PENDING.
		return fmt.Errorf("order %s: %w", orderID, err)
	case err != nil:
		return fmt.Errorf("order %s: %w", orderID, err)
	case outcome == order.Applied:
		h.debug(ctx, ev, orderID, "order updated", "from_status", before, "status", after)
	default:
		h.debug(ctx, ev, orderID, "event changed nothing", "outcome", outcome.String(), "status", before)
	}
	return nil
}

// debug logs msg about ev at debug level with the event's attributes,
// which are built only when debug lines are written: every event passes
// here, and at the default level none is logged.
func (h *Handlers) debug(ctx context.Context, ev consumer.Event, orderID, msg string, args ...any) {
	if !h.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"event_id", ev.ID, "event_type", ev.Type, "order_id", orderID,
		"topic", ev.Topic, "partition", ev.Partition, "offset", ev.Offset}
	h.log.DebugContext(ctx, msg, append(attrs, args...)...)
}
