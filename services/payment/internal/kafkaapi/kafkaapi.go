package kafkaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
)

// Store is the storage the handlers need: the domain's Ledger bound to the
// consumer's transaction.
type Store interface {
	Ledger(tx pgx.Tx) payment.Ledger
	// QueueLockAccounts queues on b the statement that locks, in customer
	// order, the accounts of customers.
	QueueLockAccounts(b *pgx.Batch, customers []string)
}

// Handlers applies order events to payments.
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
	}
}

// LockBatch locks, before a batch of events is applied, every account the
// batch will update: those of the customers it charges or refunds, in
// customer order (consumer.Config.LockBatch). An event whose payload does
// not decode locks nothing here; its handler rejects it.
func (h *Handlers) LockBatch(_ context.Context, b *pgx.Batch, evs []consumer.Event) error {
	var customers []string
	for _, ev := range evs {
		var p struct {
			CustomerID string `json:"customerId"`
		}
		switch ev.Type {
		case events.TypeOrderCreated, events.TypeOrderCancelled: // both name the customer
			if json.Unmarshal(ev.Payload, &p) == nil && p.CustomerID != "" {
				customers = append(customers, p.CustomerID)
			}
		}
	}
	if len(customers) == 0 {
		return nil
	}
	h.store.QueueLockAccounts(b, customers)
	return nil
}

// orderCreated charges the order, once per order.
func (h *Handlers) orderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.OrderCreated) error {
	tracing.SetOrderID(ctx, p.OrderID)
	order := payment.Order{ID: p.OrderID, CustomerID: p.CustomerID, Currency: p.Currency, TotalCents: p.TotalCents}
	pay, charged, err := payment.ChargeOrder(ctx, h.store.Ledger(tx), order, h.now())
	if err != nil {
		return consumerError(p.OrderID, err)
	}
	if !charged {
		h.log.InfoContext(ctx, "order already has a payment; not charging again",
			"order_id", p.OrderID, "payment_id", pay.ID, "status", pay.Status, "event_id", ev.ID)
		return nil
	}
	h.log.DebugContext(ctx, "order charged", "order_id", pay.OrderID, "payment_id", pay.ID, "status", pay.Status,
		"amount_cents", pay.AmountCents, "reason", pay.Reason, "event_id", ev.ID)
	return nil
}

// orderCancelled refunds the order's captured payment, if there is one.
func (h *Handlers) orderCancelled(ctx context.Context, tx pgx.Tx, ev consumer.Event, p events.OrderCancelled) error {
	tracing.SetOrderID(ctx, p.OrderID)
	pay, refunded, err := payment.RefundOrder(ctx, h.store.Ledger(tx), p.OrderID, h.now())
	if err != nil {
		return consumerError(p.OrderID, err)
	}
	if refunded {
		h.log.DebugContext(ctx, "payment refunded", "order_id", pay.OrderID, "payment_id", pay.ID,
			"amount_cents", pay.AmountCents, "event_id", ev.ID)
	}
	return nil
}

// consumerError names the order in err. The consumer runtime dead-letters
// a *validation.Error at once (no retry changes the event) and retries the
// rest.
func consumerError(orderID string, err error) error {
	return fmt.Errorf("order %s: %w", orderID, err)
}
