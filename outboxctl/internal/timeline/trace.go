package timeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// Statuses, as the services' migrations allow them.
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

// Trace is one order's saga as read at AsOf.
//
// The saga's steps, as the services take them: placing the order records
// OrderCreated; the payment service consumes it and charges (CAPTURED,
// PaymentCaptured) or stores a failure (FAILED, PaymentFailed); the
// inventory service consumes it and reserves every line (RESERVED,
// InventoryReserved) or none (REJECTED, InventoryRejected); the order
// service consumes those four and confirms the order once both succeeded
// (OrderConfirmed) or cancels it on the first failure (OrderCancelled).
// OrderConfirmed makes the inventory service commit the reservation
// (COMMITTED); OrderCancelled makes the payment service refund a captured
// payment (REFUNDED) and the inventory service release held stock
// (RELEASED).
//
// The saga is Terminal when the order is CONFIRMED and its reservation
// COMMITTED, or CANCELLED with a payment that is not CAPTURED and a
// reservation that holds nothing: no service has anything left to do.
// Otherwise Waiting names, for each branch that has not finished, the next
// step and what holds it: an event not yet on its topic, a record a group
// has not consumed yet (with the group's committed offset and its lag, the
// records before this one it has still to consume), a record the group
// dead-lettered, or a consumed record whose effect is missing (a broken
// invariant: outboxctl audit says more).
type Trace struct {
	AsOf        time.Time    `json:"asOf"`
	Order       Order        `json:"order"`
	Payment     *Payment     `json:"payment"`
	Reservation *Reservation `json:"reservation"`
	Records     []*Record    `json:"records"`
	Inbox       []InboxRow   `json:"inbox"`
	// Timeline is everything above as entries in time order.
	Timeline []Entry `json:"timeline"`
	Terminal bool    `json:"terminal"`
	// Stands says in one line where the saga stands.
	Stands  string   `json:"stands"`
	Waiting []string `json:"waiting"`
}

// Entry is one thing that happened to the order.
type Entry struct {
	At time.Time `json:"at"`
	// Source is where it was read: "orders", "payments" or "inventory"
	// (a row), "topic" (a record) or "inbox" (a consumer group's inbox).
	Source string `json:"source"`
	What   string `json:"what"`
}

// saga works out a Trace's positions, its waiting steps and its timeline.
type saga struct {
	t     *Trace
	k     *kafkaRead
	inbox map[[2]string]string // group, event id → outcome
	first map[string]*Record   // event type → the earliest record
}

func (t *Trace) settle(k *kafkaRead) {
	s := &saga{t: t, k: k, inbox: map[[2]string]string{}, first: map[string]*Record{}}
	for _, r := range t.Inbox {
		s.inbox[[2]string{r.Group, r.EventID}] = r.Outcome
	}
	for _, r := range t.Records {
		if _, ok := s.first[r.Type]; !ok {
			s.first[r.Type] = r
		}
		for _, g := range stack.ReadersOf(r.Topic) {
			pos := Position{Group: g.Name, Committed: -1, Inbox: s.inbox[[2]string{g.Name, r.ID}]}
			if c, ok := k.committed[g.Name][r.Topic][r.Partition]; ok {
				pos.Committed = c
			}
			pos.Consumed = pos.Committed > r.Offset || pos.Inbox != ""
			r.Readers = append(r.Readers, pos)
		}
	}
	// The OrderCreated is the one the order's first history entry names.
	if len(t.Order.History) > 0 {
		for _, r := range t.Records {
			if r.Type == events.TypeOrderCreated && r.ID == t.Order.History[0].EventID {
				s.first[events.TypeOrderCreated] = r
				break
			}
		}
	}
	t.Waiting = append([]string{}, s.waiting()...)
	t.Terminal = len(t.Waiting) == 0
	t.Stands = s.stands()
	t.Timeline = s.timeline()
}

// take reports whether group has taken r, and otherwise what holds it.
func (s *saga) take(group string, r *Record) (bool, string) {
	switch s.inbox[[2]string{group, r.ID}] {
	case "processed":
		return true, ""
	case "dead_lettered":
		return false, fmt.Sprintf("%s at %s was dead-lettered by %s: see outboxctl dlq list --group %s", r.Type, r.Ref(), group, group)
	}
	c, ok := s.k.committed[group][r.Topic][r.Partition]
	switch {
	case ok && c > r.Offset:
		return true, ""
	case ok:
		return false, fmt.Sprintf("%s at %s not yet consumed by %s: its committed offset is %d, lag %d",
			r.Type, r.Ref(), group, c, r.Offset-c)
	}
	start := s.k.offsets[r.Topic][r.Partition].Start
	return false, fmt.Sprintf("%s at %s not yet consumed by %s: it has no committed offset on the partition, lag %d",
		r.Type, r.Ref(), group, r.Offset-start)
}

// await says what holds group from taking the event of type typ; "" when
// it took it, missing when the event is on no topic.
func (s *saga) await(typ, group, missing string) (done bool, wait string) {
	r := s.first[typ]
	if r == nil {
		return false, missing
	}
	return s.take(group, r)
}

func (s *saga) waiting() []string {
	o := s.t.Order
	var waits []string
	add := func(w string) {
		if w != "" {
			waits = append(waits, w)
		}
	}
	createdID := ""
	if len(o.History) > 0 {
		createdID = " " + o.History[0].EventID
	}
	noCreated := fmt.Sprintf("no OrderCreated%s on %s yet: the order was placed at %s", createdID, events.TopicOrder, stamp(o.CreatedAt))
	// answered says what holds the group's answer to OrderCreated, when
	// its row is still missing.
	answered := func(group, answers string) string {
		done, w := s.await(events.TypeOrderCreated, group, noCreated)
		if !done {
			return w
		}
		r := s.first[events.TypeOrderCreated]
		return fmt.Sprintf("no %s yet for OrderCreated consumed by %s at %s", answers, group, r.Ref())
	}
	// reported says what holds the order service from taking the
	// outcome a row of status status at at stands for.
	reported := func(typ, topic, row, status string, at time.Time) string {
		missing := fmt.Sprintf("no %s on %s yet: %s became %s at %s", typ, topic, row, status, stamp(at))
		done, w := s.await(typ, stack.GroupOrder, missing)
		if !done {
			return w
		}
		return fmt.Sprintf("%s at %s was consumed by %s but the order did not record it: see outboxctl audit",
			typ, s.first[typ].Ref(), stack.GroupOrder)
	}
	// followed says what holds group from taking the order's outcome
	// typ, whose effect still is.
	followed := func(typ, group, still string) string {
		missing := fmt.Sprintf("no %s on %s yet: the order became %s at %s", typ, events.TopicOrder, o.Status, stamp(o.UpdatedAt))
		done, w := s.await(typ, group, missing)
		if !done {
			return w
		}
		return fmt.Sprintf("%s at %s was consumed by %s but %s: see outboxctl audit", typ, s.first[typ].Ref(), group, still)
	}
	p, r := s.t.Payment, s.t.Reservation
	switch o.Status {
	case orderPending:
		if !o.PaymentCaptured {
			switch {
			case p == nil:
				add(answered(stack.GroupPayment, "PaymentCaptured/PaymentFailed"))
			case p.Status == paymentFailed:
				add(reported(events.TypePaymentFailed, events.TopicPayment, "payment "+p.ID, p.Status, p.CreatedAt))
			default:
				add(reported(events.TypePaymentCaptured, events.TopicPayment, "payment "+p.ID, paymentCaptured, p.CreatedAt))
			}
		}
		if !o.InventoryReserved {
			switch {
			case r == nil:
				add(answered(stack.GroupInventory, "InventoryReserved/InventoryRejected"))
			case r.Status == stockRejected:
				add(reported(events.TypeInventoryRejected, events.TopicInventory, "the reservation", r.Status, r.CreatedAt))
			default:
				add(reported(events.TypeInventoryReserved, events.TopicInventory, "the reservation", stockReserved, r.CreatedAt))
			}
		}
	case orderConfirmed:
		switch {
		case r != nil && r.Status == stockCommitted:
		case r != nil && r.Status == stockReserved:
			add(followed(events.TypeOrderConfirmed, stack.GroupInventory, "the reservation is still RESERVED"))
		default:
			add(fmt.Sprintf("the order is CONFIRMED but its reservation is %s: see outboxctl audit", reservationStatus(r)))
		}
	case orderCancelled:
		switch {
		case p == nil:
			add(answered(stack.GroupPayment, "PaymentCaptured/PaymentFailed"))
		case p.Status == paymentCaptured:
			add(followed(events.TypeOrderCancelled, stack.GroupPayment, "the payment is still CAPTURED"))
		}
		switch {
		case r == nil:
			add(answered(stack.GroupInventory, "InventoryReserved/InventoryRejected"))
		case r.Status == stockReserved || r.Status == stockCommitted:
			add(followed(events.TypeOrderCancelled, stack.GroupInventory, "the stock is still "+r.Status))
		}
	default:
		add(fmt.Sprintf("the order's status %q is none the services set", o.Status))
	}
	return waits
}

func (s *saga) stands() string {
	p := "no payment"
	if s.t.Payment != nil {
		p = "payment " + s.t.Payment.Status
	}
	line := fmt.Sprintf("%s (%s, %s)", s.t.Order.Status, p, reservationStatus(s.t.Reservation))
	if s.t.Terminal {
		return line + ": settled"
	}
	return line + "; waiting: " + strings.Join(s.t.Waiting, "; ")
}

func reservationStatus(r *Reservation) string {
	if r == nil {
		return "no reservation"
	}
	return "stock " + r.Status
}

func (s *saga) timeline() []Entry {
	t := s.t
	var out []Entry
	add := func(at time.Time, source, what string) { out = append(out, Entry{At: at, Source: source, What: what}) }
	o := t.Order
	for _, h := range o.History {
		what := fmt.Sprintf("%s after %s %s", h.Status, h.EventType, h.EventID)
		if h.Seq == 1 {
			what = fmt.Sprintf("placed by %s: %s, %s, %s (%s %s)", o.Customer, h.Status, money(o.TotalCents, o.Currency),
				items(o), h.EventType, h.EventID)
		}
		if h.Status == orderCancelled && o.CancellationReason != "" {
			what += ": " + o.CancellationReason
		}
		add(h.At, stack.Orders, what)
	}
	if p := t.Payment; p != nil {
		first := paymentCaptured
		if p.Status == paymentFailed {
			first = paymentFailed
		}
		what := fmt.Sprintf("payment %s %s, %s", p.ID, first, money(p.AmountCents, p.Currency))
		if p.Reason != "" {
			what += ": " + p.Reason
		}
		add(p.CreatedAt, stack.Payments, what)
		if p.Status == paymentRefunded {
			add(p.UpdatedAt, stack.Payments, fmt.Sprintf("payment %s REFUNDED", p.ID))
		}
	}
	if r := t.Reservation; r != nil {
		first := stockReserved
		if r.Status == stockRejected {
			first = stockRejected
		}
		lines := make([]string, len(r.Lines))
		for i, l := range r.Lines {
			lines[i] = fmt.Sprintf("%s x%d", l.SKU, l.Quantity)
		}
		add(r.CreatedAt, stack.Inventory, fmt.Sprintf("stock %s: %s", first, strings.Join(lines, ", ")))
		if r.Status == stockReleased || r.Status == stockCommitted {
			add(r.UpdatedAt, stack.Inventory, "stock "+r.Status)
		}
	}
	for _, r := range t.Records {
		var consumed, dead, pending []string
		for _, pos := range r.Readers {
			switch {
			case pos.Inbox == "dead_lettered":
				dead = append(dead, pos.Group)
			case pos.Consumed:
				consumed = append(consumed, pos.Group)
			case pos.Committed < 0:
				pending = append(pending, pos.Group+" (no committed offset)")
			default:
				pending = append(pending, fmt.Sprintf("%s (committed offset %d)", pos.Group, pos.Committed))
			}
		}
		id := r.ID
		if id == "" {
			id = "(no id)"
		}
		what := fmt.Sprintf("%s %s on %s", cmp.Or(r.Type, "(no type)"), id, r.Ref())
		for _, part := range []struct {
			label  string
			groups []string
		}{{"consumed by", consumed}, {"dead-lettered by", dead}, {"not yet consumed by", pending}} {
			if len(part.groups) > 0 {
				what += "; " + part.label + " " + strings.Join(part.groups, ", ")
			}
		}
		add(r.Timestamp, "topic", what)
	}
	for _, r := range t.Inbox {
		add(r.ReceivedAt, "inbox", fmt.Sprintf("%s took %s %s from %s/%d@%d: %s", r.Group, r.EventType, r.EventID,
			r.Topic, r.Partition, r.Offset, r.Outcome))
	}
	// A record's timestamp is the outbox row's, cut to milliseconds: it
	// goes after the rows of its millisecond, which its change wrote.
	key := func(e Entry) time.Time {
		if e.Source == "topic" {
			return e.At.Add(time.Millisecond - time.Nanosecond)
		}
		return e.At
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return key(a).Compare(key(b)) })
	return out
}

func items(o Order) string {
	parts := make([]string, len(o.Items))
	for i, it := range o.Items {
		parts[i] = fmt.Sprintf("%s x%d", it.SKU, it.Quantity)
	}
	return strings.Join(parts, ", ")
}

// money writes cents in a currency with two decimals: "30.00 EUR".
func money(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, cents/100, cents%100, currency)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Write prints the trace for a person: the order, the timeline, and last
// the line that says where it stands.
func (t *Trace) Write(w io.Writer) error {
	o := t.Order
	fmt.Fprintf(w, "order %s: %s, customer %s, %s, %s\n", o.ID, o.Status, o.Customer, money(o.TotalCents, o.Currency), items(o))
	fmt.Fprintf(w, "read at %s\n\n", stamp(t.AsOf))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range t.Timeline {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", stamp(e.At), e.Source, e.What)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", t.Stands)
	return err
}

// WriteJSON prints the trace as one JSON object.
func (t *Trace) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}
