// Package kafkaapi applies the payment and inventory services' events to
// orders. Each handler runs inside the consumer runtime's transaction (the
// one that claims the event in the inbox): it decodes the payload into its
// schemas type, locks the order, lets the domain decide, and saves the
// order with any event it recorded through the same transaction.
//
// Handled: PaymentCaptured, PaymentFailed (outbox.event.payment) and
// InventoryReserved, InventoryRejected (outbox.event.inventory). Other
// types on those topics are acknowledged and ignored by the mux. An event
// for an unknown order is ignored with a warning; one for a finished order
// changes nothing. A payload that does not decode is a permanent error.
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
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

// Repository is what the handlers need from storage.
type Repository interface {
	// Lock loads an order for change within tx, or order.ErrNotFound.
	Lock(ctx context.Context, tx pgx.Tx, id string) (*order.Order, error)
	// Save writes the order and its recorded events within tx.
	Save(ctx context.Context, tx pgx.Tx, o *order.Order) error
}

// Handlers applies saga events to orders.
type Handlers struct {
	repo Repository
	log  *slog.Logger
	now  func() time.Time
}

// New returns the handlers.
func New(repo Repository, log *slog.Logger) *Handlers {
	return &Handlers{repo: repo, log: log, now: time.Now}
}

// Mux routes each event type the order service handles to its handler;
// other types are acknowledged and ignored.
func (h *Handlers) Mux() consumer.Mux {
	return consumer.Mux{
		events.TypePaymentCaptured: on(h, func(o *order.Order, _ events.PaymentCaptured, c order.Cause, now time.Time) order.Outcome {
			return o.ApplyPaymentCaptured(c, now)
		}),
		events.TypePaymentFailed: on(h, func(o *order.Order, p events.PaymentFailed, c order.Cause, now time.Time) order.Outcome {
			return o.ApplyPaymentFailed(c, p.Reason, now)
		}),
		events.TypeInventoryReserved: on(h, func(o *order.Order, _ events.InventoryReserved, c order.Cause, now time.Time) order.Outcome {
			return o.ApplyInventoryReserved(c, now)
		}),
		events.TypeInventoryRejected: on(h, func(o *order.Order, p events.InventoryRejected, c order.Cause, now time.Time) order.Outcome {
			return o.ApplyInventoryRejected(c, p.Reason, now)
		}),
	}
}

// on builds the handler of one event type: decode the payload into P,
// then apply change to the order it names (its aggregate id).
func on[P events.Event](h *Handlers, change func(*order.Order, P, order.Cause, time.Time) order.Outcome) consumer.Handler {
	return func(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
		var p P
		if err := consumer.Decode(ev, &p); err != nil {
			return err
		}
		return h.apply(ctx, tx, ev, p.AggregateID(), func(o *order.Order, c order.Cause, now time.Time) order.Outcome {
			return change(o, p, c, now)
		})
	}
}

// apply locks the order, applies change and saves the order when it
// changed.
func (h *Handlers) apply(ctx context.Context, tx pgx.Tx, ev consumer.Event, orderID string,
	change func(*order.Order, order.Cause, time.Time) order.Outcome) error {
	// The runtime hands over only events whose id is a UUID.
	eventID, err := uuid.Parse(ev.ID)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("event id %q: %w", ev.ID, err))
	}
	log := h.log.With("event_id", ev.ID, "event_type", ev.Type, "order_id", orderID,
		"topic", ev.Topic, "partition", ev.Partition, "offset", ev.Offset)
	o, err := h.repo.Lock(ctx, tx, orderID)
	if errors.Is(err, order.ErrNotFound) {
		// Every saga event is keyed by an order this service created; one
		// it does not know cannot be answered, and retrying will not help.
		log.Warn("event for an unknown order ignored")
		return nil
	}
	if err != nil {
		return err
	}
	before := o.Status()
	switch outcome := change(o, order.Cause{EventType: ev.Type, EventID: eventID}, h.now()); outcome {
	case order.Applied:
		if err := h.repo.Save(ctx, tx, o); err != nil {
			return err
		}
		log.Info("order updated", "from_status", before, "status", o.Status())
	default:
		log.Debug("event changed nothing", "outcome", outcome.String(), "status", before)
	}
	return nil
}
