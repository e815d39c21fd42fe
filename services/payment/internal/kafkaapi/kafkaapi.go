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
	"github.com/outboxcdc/outboxcdc/libs/validation"
	saga "github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
)

// Store is the persistence the handlers need, all inside the consumer's
// transaction.
type Store interface {
	LockAccount(ctx context.Context, tx pgx.Tx, customerID string) (*payment.Account, error)
	PaymentByOrder(ctx context.Context, tx pgx.Tx, orderID string, lock bool) (*payment.Payment, error)
	SaveAccount(ctx context.Context, tx pgx.Tx, a *payment.Account) error
	SavePayment(ctx context.Context, tx pgx.Tx, p *payment.Payment) error
}

// Handlers applies order events to payments.
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
	}
}

func (h *Handlers) clock() time.Time {
	// PostgreSQL keeps microseconds; rounding here makes what the handler
	// emits equal what it stores.
	return h.now().UTC().Truncate(time.Microsecond)
}

// OrderCreated charges the order, once per order.
func (h *Handlers) OrderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	var oc saga.OrderCreated
	if err := consumer.Decode(ev, &oc); err != nil {
		return err
	}
	acct, err := h.store.LockAccount(ctx, tx, oc.CustomerID)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		acct = nil
	case err != nil:
		return err
	}
	// Looked up after the account lock: a concurrent charge of the same
	// order has committed by now, and this statement sees it.
	existing, err := h.store.PaymentByOrder(ctx, tx, oc.OrderID, false)
	switch {
	case err == nil:
		h.log.InfoContext(ctx, "order already has a payment; not charging again",
			"order_id", oc.OrderID, "payment_id", existing.ID, "status", existing.Status, "event_id", ev.ID)
		return nil
	case !errors.Is(err, payment.ErrNotFound):
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("payment id: %w", err)
	}
	p, err := payment.Charge(id.String(), payment.Order{
		ID: oc.OrderID, CustomerID: oc.CustomerID, Currency: oc.Currency, TotalCents: oc.TotalCents,
	}, acct, h.clock())
	if err != nil {
		if _, ok := errors.AsType[*validation.Error](err); ok {
			return consumer.Permanent(fmt.Errorf("order %s: %w", oc.OrderID, err))
		}
		return err
	}
	if p.Status == payment.StatusCaptured {
		if err := h.store.SaveAccount(ctx, tx, acct); err != nil {
			return err
		}
	}
	if err := h.store.SavePayment(ctx, tx, p); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order charged", "order_id", p.OrderID, "payment_id", p.ID, "status", p.Status,
		"amount_cents", p.AmountCents, "reason", p.Reason, "event_id", ev.ID)
	return nil
}

// OrderCancelled refunds the order's captured payment, if there is one.
func (h *Handlers) OrderCancelled(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
	var oc saga.OrderCancelled
	if err := consumer.Decode(ev, &oc); err != nil {
		return err
	}
	p, err := h.store.PaymentByOrder(ctx, tx, oc.OrderID, false)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		return nil
	case err != nil:
		return err
	case p.Status != payment.StatusCaptured:
		return nil
	}
	acct, err := h.store.LockAccount(ctx, tx, p.CustomerID)
	if err != nil {
		return err
	}
	// Re-read under the locks: a concurrent refund may have won.
	if p, err = h.store.PaymentByOrder(ctx, tx, oc.OrderID, true); err != nil {
		return err
	}
	refunded, err := p.Refund(acct, h.clock())
	if err != nil || !refunded {
		return err
	}
	if err := h.store.SaveAccount(ctx, tx, acct); err != nil {
		return err
	}
	if err := h.store.SavePayment(ctx, tx, p); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "payment refunded", "order_id", p.OrderID, "payment_id", p.ID, "amount_cents", p.AmountCents, "event_id", ev.ID)
	return nil
}
