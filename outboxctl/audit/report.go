package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

// Kind names a class of violation; the package documentation states the
// rule behind each.
type Kind string

// The kinds of violation, in the order reports list them.
const (
	KindStuckOrder             Kind = "stuck-order"
	KindOrderState             Kind = "order-state"
	KindMissingPayment         Kind = "missing-payment"
	KindPaymentMismatch        Kind = "payment-mismatch"
	KindConfirmedNotCaptured   Kind = "confirmed-not-captured"
	KindCancelledStillCharged  Kind = "cancelled-still-charged"
	KindOrphanPayment          Kind = "orphan-payment"
	KindBalance                Kind = "balance"
	KindNegativeBalance        Kind = "negative-balance"
	KindMissingReservation     Kind = "missing-reservation"
	KindReservationMismatch    Kind = "reservation-mismatch"
	KindConfirmedNotCommitted  Kind = "confirmed-not-committed"
	KindCancelledStillReserved Kind = "cancelled-still-reserved"
	KindOrphanReservation      Kind = "orphan-reservation"
	KindStock                  Kind = "stock"
	KindNegativeStock          Kind = "negative-stock"
	KindLostEvent              Kind = "lost-event"
	KindPhantomEvent           Kind = "phantom-event"
	KindDoubleEffect           Kind = "double-effect"
	KindConflictingEvents      Kind = "conflicting-events"
	KindInboxWithoutEffect     Kind = "inbox-without-effect"
)

// Kinds lists every Kind in report order.
var Kinds = []Kind{
	KindStuckOrder, KindOrderState, KindMissingPayment, KindPaymentMismatch, KindConfirmedNotCaptured,
	KindCancelledStillCharged, KindOrphanPayment, KindBalance, KindNegativeBalance, KindMissingReservation,
	KindReservationMismatch, KindConfirmedNotCommitted, KindCancelledStillReserved, KindOrphanReservation,
	KindStock, KindNegativeStock, KindLostEvent, KindPhantomEvent, KindDoubleEffect, KindConflictingEvents,
	KindInboxWithoutEffect,
}

// Violation is one broken invariant.
type Violation struct {
	Kind Kind
	// Subject names what is broken: "order <id>", "payment <id>",
	// "customer <id>" or "sku <sku>".
	Subject string
	// Detail says how, in one line.
	Detail string
}

// String returns "kind subject: detail".
func (v Violation) String() string { return fmt.Sprintf("%s %s: %s", v.Kind, v.Subject, v.Detail) }

// TopicStats counts the records of one routed topic.
type TopicStats struct {
	Topic string
	// Exists is false when the broker has no such topic (nothing was
	// ever produced to it).
	Exists     bool
	Partitions int
	// Records counts every record read, control records excepted.
	Records int
	// ByType counts the well-formed records by event type.
	ByType map[string]int
	// Malformed counts records without a UUID id header, an eventType
	// header or an order.
	Malformed int
	// DuplicateIDs counts the event ids seen more than once on the topic
	// and DuplicateRecords the copies beyond the first: redelivery, which
	// at-least-once allows.
	DuplicateIDs, DuplicateRecords int
}

// Report is the outcome of an audit: what was counted, and the
// violations found.
type Report struct {
	// AsOf is the clock reading taken before the first read.
	AsOf time.Time
	// Grace is the grace period the checks used.
	Grace time.Duration
	// SeededAccounts and SeededStock say whether the money and stock
	// equations were checked.
	SeededAccounts, SeededStock bool

	// Orders, Payments and Reservations count rows by status (a
	// reservation counts once per order).
	Orders, Payments, Reservations map[string]int
	// Accounts and SKUs count the accounts and stock rows.
	Accounts, SKUs int
	// Topics has one entry per routed topic, in RoutedTopics order.
	Topics []TopicStats
	// DeadLetters counts the records of each dead-letter topic that
	// exists.
	DeadLetters map[string]int64
	// Inbox counts inbox rows by database and outcome.
	Inbox map[string]map[string]int

	// Deferred counts the checks skipped because the change they wait on
	// is younger than the grace period.
	Deferred int
	// UnseededAccounts and UnseededSKUs count the rows a seed given does
	// not name, whose equation was not checked.
	UnseededAccounts, UnseededSKUs int
	// UnmappedInbox counts processed inbox rows whose event is on no
	// topic, so whose order is unknown.
	UnmappedInbox int

	// Found lists the violations, sorted by kind (in Kinds order), then
	// subject, then detail.
	Found []Violation
}

func newReport(asOf time.Time, grace time.Duration, seed *Seed) *Report {
	return &Report{
		AsOf:           asOf,
		Grace:          grace,
		SeededAccounts: seed != nil && seed.Accounts != nil,
		SeededStock:    seed != nil && seed.Stock != nil,
		Orders:         map[string]int{},
		Payments:       map[string]int{},
		Reservations:   map[string]int{},
		DeadLetters:    map[string]int64{},
		Inbox:          map[string]map[string]int{},
	}
}

// OK reports whether the audit found no violation.
func (r *Report) OK() bool { return len(r.Found) == 0 }

// Violations returns every violation as one line (Violation.String).
func (r *Report) Violations() []string {
	out := make([]string, len(r.Found))
	for i, v := range r.Found {
		out[i] = v.String()
	}
	return out
}

// ByKind counts the violations of each kind found.
func (r *Report) ByKind() map[Kind]int {
	out := map[Kind]int{}
	for _, v := range r.Found {
		out[v.Kind]++
	}
	return out
}

func (r *Report) add(kind Kind, subject, format string, args ...any) {
	r.Found = append(r.Found, Violation{Kind: kind, Subject: subject, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) sort() {
	rank := map[Kind]int{}
	for i, k := range Kinds {
		rank[k] = i
	}
	slices.SortFunc(r.Found, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(rank[a.Kind], rank[b.Kind]), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Detail, b.Detail))
	})
}

// MaxListed is how many violations Write lists before "... and N more".
const MaxListed = 20

var orderStatuses = []string{"PENDING", "CONFIRMED", "CANCELLED"}

// Write prints the report for people: tables of counts, then the
// violations, at most MaxListed of them.
func (r *Report) Write(w io.Writer) error {
	ew := &errWriter{w: w}
	seed := "none (balance and stock equations not checked)"
	if r.SeededAccounts || r.SeededStock {
		seed = fmt.Sprintf("accounts %s, stock %s", yesNo(r.SeededAccounts), yesNo(r.SeededStock))
	}
	ew.printf("audit as of %s, grace %s, seed: %s\n\n", r.AsOf.Format(time.RFC3339), r.Grace, seed)

	// A table is laid out in buf, then copied without the blanks that
	// padding leaves at the end of a line.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	row := func(cells ...any) {
		text := make([]string, len(cells))
		for i, c := range cells {
			text[i] = fmt.Sprint(c)
		}
		fmt.Fprintln(tw, strings.Join(text, "\t"))
	}
	flush := func() error {
		if err := tw.Flush(); err != nil {
			return err
		}
		for line := range strings.Lines(buf.String()) {
			ew.printf("%s\n", strings.TrimRight(line, " \n"))
		}
		buf.Reset()
		return nil
	}
	row("orders", "count", "", "payments", "count", "", "reservations", "count")
	left := statusRows(r.Orders, orderStatuses)
	mid := statusRows(r.Payments, []string{"CAPTURED", "FAILED", "REFUNDED"})
	right := statusRows(r.Reservations, []string{"RESERVED", "COMMITTED", "RELEASED", "REJECTED"})
	for i := range max(len(left), len(mid), len(right)) {
		cells := make([]any, 0, 8)
		for j, col := range [][][2]any{left, mid, right} {
			if j > 0 {
				cells = append(cells, "")
			}
			if i < len(col) {
				cells = append(cells, col[i][0], col[i][1])
			} else {
				cells = append(cells, "", "")
			}
		}
		row(cells...)
	}
	row("total", sum(r.Orders), "", "total", sum(r.Payments), "", "total", sum(r.Reservations))
	fmt.Fprintln(tw)
	row("topic", "records", "malformed", "dup ids", "dup records", "dead letters")
	for _, t := range r.Topics {
		name := t.Topic
		if !t.Exists {
			name += " (absent)"
		}
		row(name, t.Records, t.Malformed, t.DuplicateIDs, t.DuplicateRecords, r.DeadLetters[t.Topic+consumer.DLQSuffix])
		for _, typ := range slices.Sorted(maps.Keys(t.ByType)) {
			row("  "+typ, t.ByType[typ], "", "", "", "")
		}
	}
	if err := flush(); err != nil {
		return err
	}
	ew.printf("\naccounts %d, SKUs %d", r.Accounts, r.SKUs)
	for _, db := range slices.Sorted(maps.Keys(r.Inbox)) {
		ew.printf("; %s inbox", db)
		for _, outcome := range slices.Sorted(maps.Keys(r.Inbox[db])) {
			ew.printf(" %s %d", outcome, r.Inbox[db][outcome])
		}
	}
	ew.printf("\n")
	if r.Deferred > 0 || r.UnseededAccounts > 0 || r.UnseededSKUs > 0 || r.UnmappedInbox > 0 {
		ew.printf("not checked: %d younger than the grace period, %d unseeded accounts, %d unseeded SKUs, %d inbox rows without a record\n",
			r.Deferred, r.UnseededAccounts, r.UnseededSKUs, r.UnmappedInbox)
	}

	if r.OK() {
		ew.printf("\nno violations\n")
		return ew.err
	}
	ew.printf("\n")
	row("violations", "count")
	counts := r.ByKind()
	for _, k := range Kinds {
		if counts[k] > 0 {
			row(string(k), counts[k])
		}
	}
	row("total", len(r.Found))
	if err := flush(); err != nil {
		return err
	}
	ew.printf("\n")
	for i, v := range r.Found {
		if i == MaxListed {
			ew.printf("... and %d more\n", len(r.Found)-MaxListed)
			break
		}
		ew.printf("%s\n", v)
	}
	return ew.err
}

func statusRows(counts map[string]int, known []string) [][2]any {
	var out [][2]any
	for _, s := range known {
		out = append(out, [2]any{s, counts[s]})
	}
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(known, s) {
			out = append(out, [2]any{s, counts[s]})
		}
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// errWriter keeps the first write error, so Write checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// The JSON shape of a report, kept apart from the Go type so that it
// stays stable and readable (durations as text, counts by name).
type jsonReport struct {
	AsOf             time.Time                 `json:"asOf"`
	Grace            string                    `json:"grace"`
	Seeded           jsonSeeded                `json:"seeded"`
	OK               bool                      `json:"ok"`
	Orders           map[string]int            `json:"ordersByStatus"`
	Payments         map[string]int            `json:"paymentsByStatus"`
	Reservations     map[string]int            `json:"reservationsByStatus"`
	Accounts         int                       `json:"accounts"`
	SKUs             int                       `json:"skus"`
	Topics           []jsonTopic               `json:"topics"`
	DeadLetters      map[string]int64          `json:"deadLetters"`
	Inbox            map[string]map[string]int `json:"inbox"`
	Deferred         int                       `json:"deferred"`
	UnseededAccounts int                       `json:"unseededAccounts"`
	UnseededSKUs     int                       `json:"unseededSkus"`
	UnmappedInbox    int                       `json:"unmappedInbox"`
	ByKind           map[Kind]int              `json:"violationsByKind"`
	Violations       []jsonViolation           `json:"violations"`
}

type jsonSeeded struct {
	Accounts bool `json:"accounts"`
	Stock    bool `json:"stock"`
}

type jsonTopic struct {
	Topic            string         `json:"topic"`
	Exists           bool           `json:"exists"`
	Partitions       int            `json:"partitions"`
	Records          int            `json:"records"`
	ByType           map[string]int `json:"byType"`
	Malformed        int            `json:"malformed"`
	DuplicateIDs     int            `json:"duplicateIds"`
	DuplicateRecords int            `json:"duplicateRecords"`
}

type jsonViolation struct {
	Kind    Kind   `json:"kind"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

// WriteJSON prints the report as one indented JSON object, with every
// violation listed.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		AsOf: r.AsOf, Grace: r.Grace.String(), Seeded: jsonSeeded{r.SeededAccounts, r.SeededStock}, OK: r.OK(),
		Orders: r.Orders, Payments: r.Payments, Reservations: r.Reservations, Accounts: r.Accounts, SKUs: r.SKUs,
		Topics: []jsonTopic{}, DeadLetters: r.DeadLetters, Inbox: r.Inbox, Deferred: r.Deferred,
		UnseededAccounts: r.UnseededAccounts, UnseededSKUs: r.UnseededSKUs, UnmappedInbox: r.UnmappedInbox,
		ByKind: r.ByKind(), Violations: []jsonViolation{},
	}
	for _, t := range r.Topics {
		out.Topics = append(out.Topics, jsonTopic(t))
	}
	for _, v := range r.Found {
		out.Violations = append(out.Violations, jsonViolation(v))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
