package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// Statuses as the services store them.
const (
	orderPending   = "PENDING"
	orderConfirmed = "CONFIRMED"
	orderCancelled = "CANCELLED"

	paymentCaptured = "CAPTURED"
	paymentFailed   = "FAILED"
	paymentRefunded = "REFUNDED"

	stockReserved  = "RESERVED"
	stockCommitted = "COMMITTED"
	stockReleased  = "RELEASED"
	stockRejected  = "REJECTED"
)

// holds reports whether a reservation row in status counts in
// stock.reserved: reserved units, and committed (sold) ones, which stay.
func holds(status string) bool { return status == stockReserved || status == stockCommitted }

// causes are the event types the order service applies to an order, each
// at most once (the order's flags make a second one a no-op).
var causes = []string{events.TypePaymentCaptured, events.TypePaymentFailed, events.TypeInventoryReserved, events.TypeInventoryRejected}

// knownTypes are the saga's event types.
var knownTypes = []string{
	events.TypeOrderCreated, events.TypeOrderConfirmed, events.TypeOrderCancelled,
	events.TypePaymentCaptured, events.TypePaymentFailed, events.TypePaymentRefunded,
	events.TypeInventoryReserved, events.TypeInventoryRejected, events.TypeInventoryReleased,
}

// conflicts are pairs of event types one order never has both of.
var conflicts = [][2]string{
	{events.TypeOrderConfirmed, events.TypeOrderCancelled},
	{events.TypePaymentCaptured, events.TypePaymentFailed},
	{events.TypeInventoryReserved, events.TypeInventoryRejected},
}

// auditor runs the checks over what Run read.
type auditor struct {
	asOf, cutoff time.Time
	seed         *Seed
	orders       *ordersDB
	payments     *paymentsDB
	inventory    *inventoryDB
	topics       *topicsRead
	rep          *Report
	// lost remembers the (order, event type) pairs already reported as
	// lost, so one missing event is one violation.
	lost map[[2]string]bool
}

// settled reports whether a change made at t is older than the grace
// period, so its next step must have happened.
func (a *auditor) settled(t time.Time) bool { return !t.After(a.cutoff) }

func (a *auditor) check() {
	a.lost = map[[2]string]bool{}
	a.count()
	for _, id := range slices.Sorted(maps.Keys(a.orders.orders)) {
		a.checkOrder(a.orders.orders[id])
	}
	a.checkPayments()
	a.checkAccounts()
	a.checkReservations()
	a.checkStock()
	a.checkRecords()
	a.checkInboxes()
	a.rep.sort()
}

func (a *auditor) count() {
	r := a.rep
	for _, o := range a.orders.orders {
		r.Orders[o.Status]++
	}
	for _, p := range a.payments.payments {
		r.Payments[p.Status]++
	}
	for _, res := range a.inventory.reservations {
		r.Reservations[res.Status]++
	}
	r.Accounts, r.SKUs = len(a.payments.accounts), len(a.inventory.stock)
	for _, t := range RoutedTopics {
		r.Topics = append(r.Topics, *a.topics.stats[t])
	}
	maps.Copy(r.DeadLetters, a.topics.deadLetters)
	for db, rows := range map[string][]inboxRow{"orders": a.orders.inbox, "payments": a.payments.inbox, "inventory": a.inventory.inbox} {
		r.Inbox[db] = map[string]int{}
		for _, row := range rows {
			r.Inbox[db][row.Outcome]++
		}
	}
}

func (a *auditor) checkOrder(o *orderRow) {
	subject := "order " + o.ID
	if o.TotalCents != o.LinesTotal {
		a.rep.add(KindOrderState, subject, "total_cents %d, its lines sum to %d", o.TotalCents, o.LinesTotal)
	}
	if o.Status == orderConfirmed && !(o.PaymentCaptured && o.InventoryReserved) {
		a.rep.add(KindOrderState, subject, "CONFIRMED with payment_captured %v and inventory_reserved %v", o.PaymentCaptured, o.InventoryReserved)
	}
	applied := map[string][]string{}
	for _, h := range o.History {
		applied[h.EventType] = append(applied[h.EventType], h.EventID)
	}
	if len(o.History) == 0 || o.History[0].EventType != events.TypeOrderCreated || len(applied[events.TypeOrderCreated]) != 1 {
		a.rep.add(KindOrderState, subject, "history does not start with its one OrderCreated (%d entries, %d OrderCreated)",
			len(o.History), len(applied[events.TypeOrderCreated]))
	}
	for _, typ := range causes {
		if ids := applied[typ]; len(ids) > 1 {
			a.rep.add(KindDoubleEffect, subject, "history applies %d %s events (%s)", len(ids), typ, strings.Join(ids, ", "))
		}
	}
	if o.Status == orderPending && a.settled(o.CreatedAt) {
		a.rep.add(KindStuckOrder, subject, "PENDING since %s, longer than the grace period", stamp(o.CreatedAt))
	}
	a.checkOrderPayment(o, subject)
	a.checkOrderReservation(o, subject)

	createdID := ""
	if len(o.History) > 0 && o.History[0].EventType == events.TypeOrderCreated {
		createdID = o.History[0].EventID
	}
	a.expect(o.ID, events.TypeOrderCreated, createdID, o.CreatedAt, "the order exists")
	switch o.Status {
	case orderConfirmed:
		a.expect(o.ID, events.TypeOrderConfirmed, "", o.UpdatedAt, "the order is CONFIRMED")
	case orderCancelled:
		a.expect(o.ID, events.TypeOrderCancelled, "", o.UpdatedAt, "the order is CANCELLED")
	}
	for _, h := range o.History {
		if slices.Contains(causes, h.EventType) {
			a.expect(o.ID, h.EventType, h.EventID, h.OccurredAt, fmt.Sprintf("history entry %d names it", h.Seq))
		}
	}
}

func (a *auditor) checkOrderPayment(o *orderRow, subject string) {
	p := a.payments.payments[o.ID]
	if p != nil {
		var diffs []string
		if p.AmountCents != o.TotalCents {
			diffs = append(diffs, fmt.Sprintf("amount %d cents, order total %d", p.AmountCents, o.TotalCents))
		}
		if p.Customer != o.Customer {
			diffs = append(diffs, fmt.Sprintf("customer %q, order's %q", p.Customer, o.Customer))
		}
		if p.Currency != o.Currency {
			diffs = append(diffs, fmt.Sprintf("currency %s, order's %s", p.Currency, o.Currency))
		}
		if len(diffs) > 0 {
			a.rep.add(KindPaymentMismatch, subject, "payment %s: %s", p.ID, strings.Join(diffs, "; "))
		}
	}
	switch {
	case o.Status == orderConfirmed && p == nil:
		a.rep.add(KindConfirmedNotCaptured, subject, "CONFIRMED, no payment")
	case o.Status == orderConfirmed && p.Status != paymentCaptured:
		a.rep.add(KindConfirmedNotCaptured, subject, "CONFIRMED, payment %s is %s", p.ID, p.Status)
	case o.Status == orderCancelled && p != nil && p.Status == paymentCaptured:
		if a.due(o.UpdatedAt) {
			a.rep.add(KindCancelledStillCharged, subject, "CANCELLED at %s, payment %s of %d cents still CAPTURED",
				stamp(o.UpdatedAt), p.ID, p.AmountCents)
		}
	case o.Status != orderConfirmed && p == nil:
		if a.due(o.CreatedAt) {
			a.rep.add(KindMissingPayment, subject, "%s, created at %s, has no payment", o.Status, stamp(o.CreatedAt))
		}
	}
}

func (a *auditor) checkOrderReservation(o *orderRow, subject string) {
	r := a.inventory.reservations[o.ID]
	if r != nil {
		if r.Inconsistent {
			a.rep.add(KindReservationMismatch, subject, "reservation rows disagree on status or version")
		}
		if !maps.Equal(r.Lines, o.Lines) {
			a.rep.add(KindReservationMismatch, subject, "reservation %s, order lines %s", lines(r.Lines), lines(o.Lines))
		}
	}
	switch {
	case o.Status == orderConfirmed && r == nil:
		a.rep.add(KindConfirmedNotCommitted, subject, "CONFIRMED, no reservation")
	case o.Status == orderConfirmed && r.Status == stockReserved:
		if a.due(o.UpdatedAt) {
			a.rep.add(KindConfirmedNotCommitted, subject, "CONFIRMED at %s, reservation still RESERVED", stamp(o.UpdatedAt))
		}
	case o.Status == orderConfirmed && r.Status != stockCommitted:
		a.rep.add(KindConfirmedNotCommitted, subject, "CONFIRMED, reservation is %s", r.Status)
	case o.Status == orderCancelled && r != nil && r.Status == stockCommitted:
		a.rep.add(KindCancelledStillReserved, subject, "CANCELLED, reservation is COMMITTED")
	case o.Status == orderCancelled && r != nil && r.Status == stockReserved:
		if a.due(o.UpdatedAt) {
			a.rep.add(KindCancelledStillReserved, subject, "CANCELLED at %s, reservation still RESERVED", stamp(o.UpdatedAt))
		}
	case o.Status != orderConfirmed && r == nil:
		if a.due(o.CreatedAt) {
			a.rep.add(KindMissingReservation, subject, "%s, created at %s, has no reservation", o.Status, stamp(o.CreatedAt))
		}
	}
}

// due reports whether a check waiting on a change made at t applies
// now; when t is within the grace period it counts the check as deferred.
func (a *auditor) due(t time.Time) bool {
	if a.settled(t) {
		return true
	}
	a.rep.Deferred++
	return false
}

// expect checks that an event of type typ for order is on its topic: the
// one with event id id when id is set, any of the type otherwise. why says
// which state implies it; at is when that state was committed.
func (a *auditor) expect(order, typ, id string, at time.Time, why string) {
	key := [2]string{order, typ}
	if a.lost[key] {
		return
	}
	if id != "" {
		if r := a.topics.byID[id]; r != nil && r.Type == typ && r.OrderID == order {
			return
		}
	} else if len(a.topics.byOrder[order][typ]) > 0 {
		return
	}
	if !a.due(at) {
		return
	}
	a.lost[key] = true
	what := typ
	if id != "" {
		what += " " + id
	}
	a.rep.add(KindLostEvent, "order "+order, "%s not on %s, but %s (since %s)", what, topicOf(typ), why, stamp(at))
}

func (a *auditor) checkPayments() {
	for _, order := range slices.Sorted(maps.Keys(a.payments.payments)) {
		p := a.payments.payments[order]
		if a.orders.orders[order] == nil && a.due(p.CreatedAt) {
			a.rep.add(KindOrphanPayment, "payment "+p.ID, "order %s is not in the orders database", order)
		}
		why := "payment " + p.ID + " is " + p.Status
		switch p.Status {
		case paymentCaptured:
			a.expect(order, events.TypePaymentCaptured, "", p.CreatedAt, why)
		case paymentFailed:
			a.expect(order, events.TypePaymentFailed, "", p.CreatedAt, why)
		case paymentRefunded:
			a.expect(order, events.TypePaymentCaptured, "", p.CreatedAt, why)
			a.expect(order, events.TypePaymentRefunded, "", p.UpdatedAt, why)
		}
	}
}

func (a *auditor) checkAccounts() {
	for _, c := range slices.Sorted(maps.Keys(a.payments.accounts)) {
		if b := a.payments.accounts[c].BalanceCents; b < 0 {
			a.rep.add(KindNegativeBalance, "customer "+c, "balance %d cents", b)
		}
	}
	if a.seed == nil || a.seed.Accounts == nil {
		return
	}
	captured := map[string]int64{}
	for _, p := range a.payments.payments {
		if p.Status == paymentCaptured {
			captured[p.Customer] += p.AmountCents
		}
	}
	for _, c := range slices.Sorted(maps.Keys(a.seed.Accounts)) {
		seeded := a.seed.Accounts[c]
		acct := a.payments.accounts[c]
		if acct == nil {
			a.rep.add(KindBalance, "customer "+c, "seeded with %d cents, has no account", seeded)
			continue
		}
		if want := seeded - captured[c]; acct.BalanceCents != want {
			a.rep.add(KindBalance, "customer "+c, "balance %d cents, want %d (seeded %d - captured %d), off by %+d",
				acct.BalanceCents, want, seeded, captured[c], acct.BalanceCents-want)
		}
	}
	for c := range a.payments.accounts {
		if _, ok := a.seed.Accounts[c]; !ok {
			a.rep.UnseededAccounts++
		}
	}
}

func (a *auditor) checkReservations() {
	for _, order := range slices.Sorted(maps.Keys(a.inventory.reservations)) {
		r := a.inventory.reservations[order]
		if a.orders.orders[order] == nil && a.due(r.CreatedAt) {
			a.rep.add(KindOrphanReservation, "order "+order, "reservation (%s) of an order the orders database does not have", r.Status)
		}
		why := "the reservation is " + r.Status
		switch r.Status {
		case stockReserved, stockCommitted:
			a.expect(order, events.TypeInventoryReserved, "", r.CreatedAt, why)
		case stockRejected:
			a.expect(order, events.TypeInventoryRejected, "", r.CreatedAt, why)
		case stockReleased:
			a.expect(order, events.TypeInventoryReserved, "", r.CreatedAt, why)
			a.expect(order, events.TypeInventoryReleased, "", r.UpdatedAt, why)
		}
	}
}

func (a *auditor) checkStock() {
	skus := map[string]bool{}
	for sku := range a.inventory.stock {
		skus[sku] = true
	}
	for sku, n := range a.inventory.held {
		if n != 0 {
			skus[sku] = true
		}
	}
	seeded := a.seed != nil && a.seed.Stock != nil
	if seeded {
		for sku := range a.seed.Stock {
			skus[sku] = true
		}
	}
	for _, sku := range slices.Sorted(maps.Keys(skus)) {
		subject := "sku " + sku
		s, held := a.inventory.stock[sku], a.inventory.held[sku]
		want, isSeeded := int64(0), false
		if seeded {
			want, isSeeded = a.seed.Stock[sku]
		}
		if s == nil {
			if held != 0 {
				a.rep.add(KindStock, subject, "reservations hold %d units, no stock row", held)
			}
			if isSeeded {
				a.rep.add(KindStock, subject, "seeded with %d, no stock row", want)
			}
			continue
		}
		if s.Available < 0 || s.Reserved < 0 {
			a.rep.add(KindNegativeStock, subject, "available %d, reserved %d", s.Available, s.Reserved)
		}
		if s.Reserved != held {
			a.rep.add(KindStock, subject, "reserved %d, reservations RESERVED or COMMITTED hold %d", s.Reserved, held)
		}
		switch {
		case isSeeded && s.Available+s.Reserved != want:
			a.rep.add(KindStock, subject, "available %d + reserved %d = %d, seeded %d, off by %+d",
				s.Available, s.Reserved, s.Available+s.Reserved, want, s.Available+s.Reserved-want)
		case seeded && !isSeeded:
			a.rep.UnseededSKUs++
		}
	}
}

// checkRecords looks at the topics from the events' side: two effects
// where there is one, contradicting events, and events whose state was
// never committed.
func (a *auditor) checkRecords() {
	for _, order := range slices.Sorted(maps.Keys(a.topics.byOrder)) {
		byType := a.topics.byOrder[order]
		subject := "order " + order
		for _, typ := range knownTypes {
			ids := byType[typ]
			if len(ids) == 0 {
				continue
			}
			if len(ids) > 1 {
				a.rep.add(KindDoubleEffect, subject, "%d distinct %s events on %s (%s)",
					len(ids), typ, topicOf(typ), strings.Join(slices.Sorted(maps.Keys(ids)), ", "))
			}
			settled := false
			for _, r := range ids {
				settled = settled || a.settled(r.Timestamp)
			}
			if !settled {
				continue
			}
			if ok, state := a.implied(order, typ); !ok {
				a.rep.add(KindPhantomEvent, subject, "%s on %s, but %s", typ, topicOf(typ), state)
			}
		}
		for _, pair := range conflicts {
			if len(byType[pair[0]]) > 0 && len(byType[pair[1]]) > 0 {
				a.rep.add(KindConflictingEvents, subject, "both %s and %s", pair[0], pair[1])
			}
		}
	}
}

// implied reports whether the databases hold the state an event of type
// typ for order implies, and describes the state when they do not.
func (a *auditor) implied(order, typ string) (bool, string) {
	o := a.orders.orders[order]
	p := a.payments.payments[order]
	r := a.inventory.reservations[order]
	var ok bool
	var state string
	switch typ {
	case events.TypeOrderCreated, events.TypeOrderConfirmed, events.TypeOrderCancelled:
		want := map[string]string{events.TypeOrderConfirmed: orderConfirmed, events.TypeOrderCancelled: orderCancelled}[typ]
		if o == nil {
			return false, "the orders database has no such order"
		}
		ok, state = want == "" || o.Status == want, "the order is "+o.Status
	case events.TypePaymentCaptured, events.TypePaymentFailed, events.TypePaymentRefunded:
		if p == nil {
			return false, "the payments database has no payment for the order"
		}
		switch typ {
		case events.TypePaymentCaptured:
			ok = p.Status == paymentCaptured || p.Status == paymentRefunded
		case events.TypePaymentFailed:
			ok = p.Status == paymentFailed
		default:
			ok = p.Status == paymentRefunded
		}
		state = "payment " + p.ID + " is " + p.Status
	default:
		if r == nil {
			return false, "the inventory database has no reservation for the order"
		}
		switch typ {
		case events.TypeInventoryReserved:
			ok = r.Status != stockRejected
		case events.TypeInventoryRejected:
			ok = r.Status == stockRejected
		default:
			ok = r.Status == stockReleased
		}
		state = "the reservation is " + r.Status
	}
	return ok, state
}

// checkInboxes compares what each consumer group's inbox says it processed
// with the effects in the same database.
func (a *auditor) checkInboxes() {
	orderOf := func(eventID string) (string, bool) {
		if r := a.topics.byID[eventID]; r != nil {
			return r.OrderID, true
		}
		a.rep.UnmappedInbox++
		return "", false
	}
	for _, row := range sortedInbox(a.payments.inbox) {
		if row.Outcome != "processed" || (row.EventType != events.TypeOrderCreated && row.EventType != events.TypeOrderCancelled) {
			continue
		}
		order, ok := orderOf(row.EventID)
		if !ok {
			continue
		}
		p := a.payments.payments[order]
		switch {
		case row.EventType == events.TypeOrderCreated && p == nil:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "payments group %s processed OrderCreated %s, no payment", row.Group, row.EventID)
		case row.EventType == events.TypeOrderCancelled && p != nil && p.Status == paymentCaptured:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "payments group %s processed OrderCancelled %s, payment %s still CAPTURED", row.Group, row.EventID, p.ID)
		}
	}
	for _, row := range sortedInbox(a.inventory.inbox) {
		if row.Outcome != "processed" || !slices.Contains([]string{events.TypeOrderCreated, events.TypeOrderCancelled, events.TypeOrderConfirmed}, row.EventType) {
			continue
		}
		order, ok := orderOf(row.EventID)
		if !ok {
			continue
		}
		r := a.inventory.reservations[order]
		switch {
		case row.EventType == events.TypeOrderCreated && r == nil:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "inventory group %s processed OrderCreated %s, no reservation", row.Group, row.EventID)
		case row.EventType == events.TypeOrderCancelled && r != nil && holds(r.Status):
			a.rep.add(KindInboxWithoutEffect, "order "+order, "inventory group %s processed OrderCancelled %s, reservation still %s", row.Group, row.EventID, r.Status)
		case row.EventType == events.TypeOrderConfirmed && r != nil && r.Status == stockReserved:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "inventory group %s processed OrderConfirmed %s, reservation still RESERVED", row.Group, row.EventID)
		}
	}
	// The order service: an answer it processed must show on an order that
	// is still PENDING (a final order ignores late answers, rightly).
	reactions := []string{events.TypePaymentCaptured, events.TypePaymentFailed, events.TypeInventoryReserved, events.TypeInventoryRejected}
	for _, row := range sortedInbox(a.orders.inbox) {
		if row.Outcome != "processed" || !slices.Contains(reactions, row.EventType) {
			continue
		}
		order, ok := orderOf(row.EventID)
		if !ok {
			continue
		}
		o := a.orders.orders[order]
		switch {
		case o == nil:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "orders group %s processed %s %s for an order it does not have", row.Group, row.EventType, row.EventID)
		case o.Status != orderPending:
		case row.EventType == events.TypePaymentCaptured && !o.PaymentCaptured,
			row.EventType == events.TypeInventoryReserved && !o.InventoryReserved,
			row.EventType == events.TypePaymentFailed, row.EventType == events.TypeInventoryRejected:
			a.rep.add(KindInboxWithoutEffect, "order "+order, "orders group %s processed %s %s, order still PENDING without it", row.Group, row.EventType, row.EventID)
		}
	}
}

func sortedInbox(rows []inboxRow) []inboxRow {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b inboxRow) int {
		return strings.Compare(a.Group+"/"+a.EventID, b.Group+"/"+b.EventID)
	})
	return out
}

func topicOf(typ string) string { return events.TopicsOf(typ)[0] }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// lines formats SKU quantities as "[A×2 B×1]", sorted by SKU.
func lines(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for _, sku := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s×%d", sku, m[sku]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
