package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
)

// Rows as the audit needs them, read from the three databases.

type orderRow struct {
	ID, Customer, Currency, Status     string
	TotalCents                         int64
	PaymentCaptured, InventoryReserved bool
	CreatedAt, UpdatedAt               time.Time
	// Lines are the order's quantities summed per SKU; LinesTotal is
	// the sum of quantity * unit price over its lines.
	Lines      map[string]int64
	LinesTotal int64
	History    []historyRow
}

type historyRow struct {
	Seq                        int
	Status, EventType, EventID string
	OccurredAt                 time.Time
}

type paymentRow struct {
	ID, OrderID, Customer, Currency, Status string
	AmountCents                             int64
	CreatedAt, UpdatedAt                    time.Time
}

type accountRow struct {
	Customer     string
	BalanceCents int64
}

type stockRow struct {
	SKU                 string
	Available, Reserved int64
}

// reservation gathers the rows of one order. Rows that disagree on status
// or version set Inconsistent; Status is then the first row's.
type reservation struct {
	OrderID              string
	Status               string
	Lines                map[string]int64
	Inconsistent         bool
	CreatedAt, UpdatedAt time.Time
	version              int
}

type inboxRow struct {
	Group, EventID, EventType, Outcome string
}

type ordersDB struct {
	orders map[string]*orderRow
	inbox  []inboxRow
}

type paymentsDB struct {
	accounts map[string]*accountRow
	payments map[string]*paymentRow // by order id (UNIQUE)
	inbox    []inboxRow
}

type inventoryDB struct {
	stock        map[string]*stockRow
	reservations map[string]*reservation // by order id
	// held sums, per SKU, the quantity of reservation rows in status
	// RESERVED or COMMITTED: what stock.reserved must be.
	held  map[string]int64
	inbox []inboxRow
}

// snapshot runs read in one read-only REPEATABLE READ transaction on the
// database at dsn, so everything read comes from one consistent snapshot.
func snapshot(ctx context.Context, name, dsn string, read func(pgx.Tx) error) error {
	return stack.ReadOnly(ctx, name, dsn, read)
}

// each runs sql and calls fn after scanning every row into dest.
func each(ctx context.Context, tx pgx.Tx, sql string, dest []any, fn func() error) error {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, fn)
	return err
}

const (
	selectOrders = `SELECT id::text, customer_id, currency, total_cents, status, payment_captured,
inventory_reserved, created_at, updated_at FROM orders`
	selectOrderItems = `SELECT order_id::text, sku, quantity, unit_price_cents FROM order_items`
	selectHistory    = `SELECT order_id::text, seq, status, event_type, event_id::text, occurred_at
FROM order_history ORDER BY order_id, seq`
	selectInbox = `SELECT consumer_group, event_id::text, event_type, outcome FROM inbox`
)

func loadOrders(ctx context.Context, dsn string) (*ordersDB, error) {
	db := &ordersDB{orders: map[string]*orderRow{}}
	err := snapshot(ctx, "orders", dsn, func(tx pgx.Tx) error {
		var o orderRow
		err := each(ctx, tx, selectOrders, []any{&o.ID, &o.Customer, &o.Currency, &o.TotalCents, &o.Status,
			&o.PaymentCaptured, &o.InventoryReserved, &o.CreatedAt, &o.UpdatedAt}, func() error {
			row := o
			row.CreatedAt, row.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
			row.Lines = map[string]int64{}
			db.orders[row.ID] = &row
			return nil
		})
		if err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		var orderID, sku string
		var qty, price int64
		err = each(ctx, tx, selectOrderItems, []any{&orderID, &sku, &qty, &price}, func() error {
			if o := db.orders[orderID]; o != nil {
				o.Lines[sku] += qty
				o.LinesTotal += qty * price
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("order items: %w", err)
		}
		var h historyRow
		err = each(ctx, tx, selectHistory, []any{&orderID, &h.Seq, &h.Status, &h.EventType, &h.EventID, &h.OccurredAt}, func() error {
			if o := db.orders[orderID]; o != nil {
				entry := h
				entry.OccurredAt = h.OccurredAt.UTC()
				o.History = append(o.History, entry)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("order history: %w", err)
		}
		db.inbox, err = loadInbox(ctx, tx)
		return err
	})
	return db, err
}

func loadInbox(ctx context.Context, tx pgx.Tx) ([]inboxRow, error) {
	var out []inboxRow
	var r inboxRow
	err := each(ctx, tx, selectInbox, []any{&r.Group, &r.EventID, &r.EventType, &r.Outcome}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

const (
	selectAccounts = `SELECT customer_id, balance_cents FROM accounts`
	selectPayments = `SELECT id::text, order_id::text, customer_id, amount_cents, currency, status,
created_at, updated_at FROM payments`
)

func loadPayments(ctx context.Context, dsn string) (*paymentsDB, error) {
	db := &paymentsDB{accounts: map[string]*accountRow{}, payments: map[string]*paymentRow{}}
	err := snapshot(ctx, "payments", dsn, func(tx pgx.Tx) error {
		var a accountRow
		err := each(ctx, tx, selectAccounts, []any{&a.Customer, &a.BalanceCents}, func() error {
			row := a
			db.accounts[row.Customer] = &row
			return nil
		})
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		var p paymentRow
		err = each(ctx, tx, selectPayments, []any{&p.ID, &p.OrderID, &p.Customer, &p.AmountCents, &p.Currency,
			&p.Status, &p.CreatedAt, &p.UpdatedAt}, func() error {
			row := p
			row.CreatedAt, row.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
			db.payments[row.OrderID] = &row
			return nil
		})
		if err != nil {
			return fmt.Errorf("payments: %w", err)
		}
		db.inbox, err = loadInbox(ctx, tx)
		return err
	})
	return db, err
}

const (
	selectStock        = `SELECT sku, available, reserved FROM stock`
	selectReservations = `SELECT order_id::text, sku, quantity, status, version, created_at, updated_at
FROM reservations ORDER BY order_id, sku`
)

func loadInventory(ctx context.Context, dsn string) (*inventoryDB, error) {
	db := &inventoryDB{stock: map[string]*stockRow{}, reservations: map[string]*reservation{}, held: map[string]int64{}}
	err := snapshot(ctx, "inventory", dsn, func(tx pgx.Tx) error {
		var s stockRow
		err := each(ctx, tx, selectStock, []any{&s.SKU, &s.Available, &s.Reserved}, func() error {
			row := s
			db.stock[row.SKU] = &row
			return nil
		})
		if err != nil {
			return fmt.Errorf("stock: %w", err)
		}
		var orderID, sku, status string
		var qty int64
		var version int
		var created, updated time.Time
		err = each(ctx, tx, selectReservations, []any{&orderID, &sku, &qty, &status, &version, &created, &updated}, func() error {
			r := db.reservations[orderID]
			if r == nil {
				r = &reservation{OrderID: orderID, Status: status, version: version, Lines: map[string]int64{},
					CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
				db.reservations[orderID] = r
			} else if r.Status != status || r.version != version {
				r.Inconsistent = true
			}
			r.Lines[sku] += qty
			if holds(status) {
				db.held[sku] += qty
			}
			if created.Before(r.CreatedAt) {
				r.CreatedAt = created.UTC()
			}
			if updated.After(r.UpdatedAt) {
				r.UpdatedAt = updated.UTC()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reservations: %w", err)
		}
		db.inbox, err = loadInbox(ctx, tx)
		return err
	})
	return db, err
}
