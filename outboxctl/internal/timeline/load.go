// Package timeline gathers one order's saga across the services: its rows
// in the three databases, its records on the routed topics with each
// consumer group's position against them, and the inbox rows of its
// events; then says where the saga stands and, when it is not over, what
// it waits for (Trace).
package timeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
)

// ErrNotFound is returned by Load for an order the orders database does
// not hold.
var ErrNotFound = errors.New("no such order")

// Order is the orders row with its lines and history.
type Order struct {
	ID                 string    `json:"id"`
	Customer           string    `json:"customer"`
	Currency           string    `json:"currency"`
	Status             string    `json:"status"`
	TotalCents         int64     `json:"totalCents"`
	PaymentCaptured    bool      `json:"paymentCaptured"`
	InventoryReserved  bool      `json:"inventoryReserved"`
	CancellationReason string    `json:"cancellationReason,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
	Items              []Item    `json:"items"`
	History            []History `json:"history"`
}

// Item is one order line.
type Item struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// History is one order_history row: the status the event left the order
// in.
type History struct {
	Seq       int       `json:"seq"`
	Status    string    `json:"status"`
	EventType string    `json:"eventType"`
	EventID   string    `json:"eventId"`
	At        time.Time `json:"at"`
}

// Payment is the order's payments row.
type Payment struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Reservation is the order's reservations rows, one per SKU, which the
// inventory service changes together.
type Reservation struct {
	Status    string         `json:"status"`
	Version   int            `json:"version"`
	Lines     []ReservedLine `json:"lines"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

// ReservedLine is one reservations row.
type ReservedLine struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Status   string `json:"status"`
}

// InboxRow is one inbox row of one of the order's events.
type InboxRow struct {
	Group      string    `json:"group"`
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	Topic      string    `json:"topic"`
	Partition  int32     `json:"partition"`
	Offset     int64     `json:"offset"`
	Outcome    string    `json:"outcome"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Record is one of the order's records on a routed topic.
type Record struct {
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Timestamp time.Time `json:"timestamp"`
	// ID and Type are the id and eventType headers.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Readers are the service groups that subscribe to the topic.
	Readers []Position `json:"readers"`
}

// Ref returns topic/partition@offset.
func (r *Record) Ref() string { return fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset) }

// Position is where one consumer group stands against a record.
type Position struct {
	Group string `json:"group"`
	// Committed is the group's committed offset on the record's
	// partition, -1 when it has none.
	Committed int64 `json:"committed"`
	// Consumed: the committed offset is beyond the record, or the group's
	// inbox holds the record's event.
	Consumed bool `json:"consumed"`
	// Inbox is the outcome in the group's inbox ("processed",
	// "dead_lettered"), "" without a row.
	Inbox string `json:"inbox,omitempty"`
}

// Load reads order id's rows and records (see Trace). The order must be in
// the orders database: ErrNotFound otherwise.
//
// The broker is read first: the order's records and the groups' committed
// offsets. The databases after, so that whatever a group had consumed by
// then has its inbox row and effects in what is read.
func Load(ctx context.Context, cfg stack.Config, id string) (*Trace, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, fmt.Errorf("order id %q is not a UUID", id)
	}
	id = u.String()
	t := &Trace{AsOf: time.Now().UTC(), Records: []*Record{}, Inbox: []InboxRow{}}
	k, err := readKafka(ctx, cfg, id)
	if err != nil {
		return nil, err
	}
	t.Records = append(t.Records, k.records...)
	ids := map[string]bool{}
	for _, r := range k.records {
		if r.ID != "" {
			ids[r.ID] = true
		}
	}
	// Each database's inbox rows of the order's events: those the records
	// name, and (in the orders database, read first) those its history
	// names.
	inbox := map[string][]InboxRow{}
	readInbox := func(tx pgx.Tx, db string) error {
		rows, err := loadInbox(ctx, tx, slices.Sorted(maps.Keys(ids)))
		inbox[db] = rows
		return err
	}
	found := false
	err = stack.ReadOnly(ctx, stack.Orders, cfg.OrdersDB, func(tx pgx.Tx) error {
		o, err := loadOrder(ctx, tx, id)
		if err != nil || o == nil {
			return err
		}
		found, t.Order = true, *o
		for _, h := range o.History {
			ids[h.EventID] = true
		}
		return readInbox(tx, stack.Orders)
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("order %s: %w in the orders database", id, ErrNotFound)
	}
	err = stack.ReadOnly(ctx, stack.Payments, cfg.PaymentsDB, func(tx pgx.Tx) error {
		var err error
		if t.Payment, err = loadPayment(ctx, tx, id); err != nil {
			return err
		}
		return readInbox(tx, stack.Payments)
	})
	if err != nil {
		return nil, err
	}
	err = stack.ReadOnly(ctx, stack.Inventory, cfg.InventoryDB, func(tx pgx.Tx) error {
		var err error
		if t.Reservation, err = loadReservation(ctx, tx, id); err != nil {
			return err
		}
		return readInbox(tx, stack.Inventory)
	})
	if err != nil {
		return nil, err
	}
	// Each database holds the inbox of its service's group only.
	for _, g := range stack.Groups {
		for _, r := range inbox[g.Database] {
			if r.Group == g.Name {
				t.Inbox = append(t.Inbox, r)
			}
		}
	}
	t.settle(k)
	return t, nil
}

const (
	selectOrder = `SELECT id::text, customer_id, currency, total_cents, status, payment_captured, inventory_reserved,
coalesce(cancellation_reason, ''), created_at, updated_at FROM orders WHERE id = $1`
	selectItems   = `SELECT sku, quantity, unit_price_cents FROM order_items WHERE order_id = $1 ORDER BY line`
	selectHistory = `SELECT seq, status, event_type, event_id::text, occurred_at FROM order_history
WHERE order_id = $1 ORDER BY seq`
	selectPayment = `SELECT id::text, status, amount_cents, currency, reason, created_at, updated_at
FROM payments WHERE order_id = $1`
	selectReservations = `SELECT sku, quantity, status, version, created_at, updated_at FROM reservations
WHERE order_id = $1 ORDER BY sku`
	selectInbox = `SELECT consumer_group, event_id::text, event_type, kafka_topic, kafka_partition, kafka_offset,
outcome, received_at FROM inbox WHERE event_id = ANY($1::uuid[]) ORDER BY received_at, consumer_group`
)

// loadOrder returns the order, or nil when there is none.
func loadOrder(ctx context.Context, tx pgx.Tx, id string) (*Order, error) {
	var o Order
	err := tx.QueryRow(ctx, selectOrder, id).Scan(&o.ID, &o.Customer, &o.Currency, &o.TotalCents, &o.Status,
		&o.PaymentCaptured, &o.InventoryReserved, &o.CancellationReason, &o.CreatedAt, &o.UpdatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("orders: %w", err)
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	rows, _ := tx.Query(ctx, selectItems, id)
	o.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Item, error) {
		var it Item
		err := row.Scan(&it.SKU, &it.Quantity, &it.UnitPriceCents)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("order items: %w", err)
	}
	rows, _ = tx.Query(ctx, selectHistory, id)
	o.History, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (History, error) {
		var h History
		err := row.Scan(&h.Seq, &h.Status, &h.EventType, &h.EventID, &h.At)
		h.At = h.At.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("order history: %w", err)
	}
	return &o, nil
}

// loadPayment returns the order's payment, or nil.
func loadPayment(ctx context.Context, tx pgx.Tx, orderID string) (*Payment, error) {
	var p Payment
	err := tx.QueryRow(ctx, selectPayment, orderID).Scan(&p.ID, &p.Status, &p.AmountCents, &p.Currency, &p.Reason,
		&p.CreatedAt, &p.UpdatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("payments: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// loadReservation returns the order's reservation, or nil. Its status and
// version are the first row's; its times span the rows'.
func loadReservation(ctx context.Context, tx pgx.Tx, orderID string) (*Reservation, error) {
	rows, err := tx.Query(ctx, selectReservations, orderID)
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	var r *Reservation
	var l ReservedLine
	var version int
	var created, updated time.Time
	_, err = pgx.ForEachRow(rows, []any{&l.SKU, &l.Quantity, &l.Status, &version, &created, &updated}, func() error {
		if r == nil {
			r = &Reservation{Status: l.Status, Version: version, CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
		}
		r.Lines = append(r.Lines, l)
		if created.Before(r.CreatedAt) {
			r.CreatedAt = created.UTC()
		}
		if updated.After(r.UpdatedAt) {
			r.UpdatedAt = updated.UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	return r, nil
}

// loadInbox returns the inbox rows of the events ids, every group's.
func loadInbox(ctx context.Context, tx pgx.Tx, ids []string) ([]InboxRow, error) {
	var valid []string
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil, nil
	}
	rows, _ := tx.Query(ctx, selectInbox, valid)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (InboxRow, error) {
		var r InboxRow
		err := row.Scan(&r.Group, &r.EventID, &r.EventType, &r.Topic, &r.Partition, &r.Offset, &r.Outcome, &r.ReceivedAt)
		r.ReceivedAt = r.ReceivedAt.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return out, nil
}

// kafkaRead is what the broker said about the order.
type kafkaRead struct {
	records []*Record
	offsets map[string]map[int32]stack.Offsets
	// committed holds every service group's committed offsets.
	committed map[string]map[string]map[int32]int64
}

// readKafka reads the order's records: on each routed topic only the
// partition its key maps to, from the log start to the last stable
// offset, keeping the records keyed by the order id. It also fetches the
// service groups' committed offsets.
func readKafka(ctx context.Context, cfg stack.Config, id string) (*kafkaRead, error) {
	cl, err := cfg.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	k := &kafkaRead{committed: map[string]map[string]map[int32]int64{}}
	if k.offsets, err = stack.ListOffsets(ctx, adm, stack.RoutedTopics...); err != nil {
		return nil, err
	}
	for _, g := range stack.Groups {
		if k.committed[g.Name], err = stack.Committed(ctx, adm, g.Name); err != nil {
			return nil, err
		}
	}
	ranges := map[string]map[int32]stack.Range{}
	for _, topic := range stack.RoutedTopics {
		parts := k.offsets[topic]
		if len(parts) == 0 {
			continue
		}
		p := stack.Partition([]byte(id), len(parts))
		o := parts[p]
		ranges[topic] = map[int32]stack.Range{p: {From: o.Start, To: o.Stable}}
	}
	err = stack.Read(ctx, cfg, ranges, func(r *kgo.Record) bool {
		if stack.Canonical(string(r.Key)) != id {
			return false
		}
		rec := &Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UTC()}
		rec.ID, _ = stack.Header(r.Headers, consumer.HeaderID)
		rec.ID = stack.Canonical(rec.ID)
		rec.Type, _ = stack.Header(r.Headers, consumer.HeaderEventType)
		k.records = append(k.records, rec)
		return false
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(k.records, func(a, b *Record) int { return a.Timestamp.Compare(b.Timestamp) })
	return k, nil
}
