package audit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/outboxcdc/outboxcdc/outboxctl/audit"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) {
	// pgtest skips on a machine without PostgreSQL; these tests must fail
	// there instead.
	if _, err := pgcluster.FindBinDir(); err != nil {
		fmt.Fprintln(os.Stderr, "audit tests need PostgreSQL:", err)
		os.Exit(1)
	}
	pgtest.Main(m)
}

func seed() *audit.Seed {
	stock := map[string]int64{}
	for sku, n := range fixture.SeedStock {
		stock[sku] = int64(n)
	}
	return &audit.Seed{Accounts: maps.Clone(fixture.SeedAccounts), Stock: stock}
}

// TestAudit builds the standard consistent scenario, bends it the way one
// broken hop would, writes it to real databases and a real broker, and
// checks that the audit reports exactly the violations that hop causes.
func TestAudit(t *testing.T) {
	// Two sets of databases: enough for the two parallel subtests of a
	// two-core machine; with more, subtests wait for a free set.
	pool := fixture.NewPool(t, 2)
	later := func(o *fixture.Order) time.Time { return o.UpdatedAt.Add(time.Second) }
	for _, tc := range []struct {
		name   string
		noSeed bool
		bend   func(s *fixture.Scenario)
		want   map[audit.Kind]int
	}{
		{
			name: "consistent",
			bend: func(*fixture.Scenario) {},
		},
		{
			name: "lost event",
			bend: func(s *fixture.Scenario) { s.Remove(s.Confirmed, events.TypeOrderConfirmed) },
			want: map[audit.Kind]int{audit.KindLostEvent: 1},
		},
		{
			name: "lost event named by the history",
			bend: func(s *fixture.Scenario) { s.Remove(s.Rejected, events.TypeInventoryRejected) },
			want: map[audit.Kind]int{audit.KindLostEvent: 1},
		},
		{
			name: "overcharged balance",
			bend: func(s *fixture.Scenario) { s.Accounts["alice"] -= 500 },
			want: map[audit.Kind]int{audit.KindBalance: 1},
		},
		{
			name:   "negative balance",
			noSeed: true,
			bend: func(s *fixture.Scenario) {
				s.DropChecks = true
				s.Accounts["bob"] = -100
			},
			want: map[audit.Kind]int{audit.KindNegativeBalance: 1},
		},
		{
			name: "stock does not add up to the seed",
			bend: func(s *fixture.Scenario) { s.Stock["SKU-2"].Available-- },
			want: map[audit.Kind]int{audit.KindStock: 1},
		},
		{
			name: "reserved stock the reservations do not hold",
			bend: func(s *fixture.Scenario) { s.Stock["SKU-1"].Reserved++; s.Stock["SKU-1"].Available-- },
			want: map[audit.Kind]int{audit.KindStock: 1},
		},
		{
			name:   "negative stock",
			noSeed: true,
			bend: func(s *fixture.Scenario) {
				s.DropChecks = true
				s.Stock["SKU-2"].Available = -1
			},
			want: map[audit.Kind]int{audit.KindNegativeStock: 1},
		},
		{
			name: "pending order past the grace period",
			bend: func(s *fixture.Scenario) {
				// Paid and reserved, but the order service never heard.
				s.Accounts["dave"] = 5_000
				s.Stock["SKU-3"] = &fixture.Stock{Available: 4}
				o := s.Place("dave", []events.OrderItem{{SKU: "SKU-3", Quantity: 1, UnitPriceCents: 700}}, s.Confirmed.CreatedAt)
				s.Charge(o, o.CreatedAt)
				s.Reserve(o, o.CreatedAt)
			},
			want: map[audit.Kind]int{audit.KindStuckOrder: 1},
		},
		{
			name: "confirmed order without payment",
			bend: func(s *fixture.Scenario) {
				// An order service that confirms on the reservation alone.
				s.Stock["SKU-3"] = &fixture.Stock{Available: 4}
				o := s.Place("erin", []events.OrderItem{{SKU: "SKU-3", Quantity: 1, UnitPriceCents: 700}}, s.Confirmed.CreatedAt)
				held := s.Reserve(o, o.CreatedAt)
				o.PaymentCaptured = true
				confirmed := s.React(o, held, o.CreatedAt.Add(time.Second))
				s.Commit(o, confirmed, o.CreatedAt.Add(2*time.Second))
			},
			want: map[audit.Kind]int{audit.KindConfirmedNotCaptured: 1},
		},
		{
			name: "cancelled order still charged",
			bend: func(s *fixture.Scenario) {
				s.Saga("alice", []events.OrderItem{{SKU: "SKU-2", Quantity: 50, UnitPriceCents: 10}}, s.Rejected.CreatedAt, fixture.Skip{Refund: true})
			},
			want: map[audit.Kind]int{audit.KindCancelledStillCharged: 1},
		},
		{
			name: "confirmed order whose stock was never committed",
			bend: func(s *fixture.Scenario) {
				s.Saga("alice", []events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 100}}, s.Confirmed.CreatedAt, fixture.Skip{Commit: true})
			},
			want: map[audit.Kind]int{audit.KindConfirmedNotCommitted: 1},
		},
		{
			name: "cancelled order still holding stock",
			bend: func(s *fixture.Scenario) {
				s.Saga("bob", []events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 9_000}}, s.PaymentFailed.CreatedAt, fixture.Skip{Release: true})
			},
			want: map[audit.Kind]int{audit.KindCancelledStillReserved: 1},
		},
		{
			name:   "payment amount differs from the order total",
			noSeed: true,
			bend:   func(s *fixture.Scenario) { s.Payment(s.Confirmed).AmountCents-- },
			want:   map[audit.Kind]int{audit.KindPaymentMismatch: 1},
		},
		{
			name: "reservation differs from the order lines",
			bend: func(s *fixture.Scenario) {
				s.Reservation(s.Confirmed).Lines["SKU-1"]++
				s.Stock["SKU-1"].Reserved++
				s.Stock["SKU-1"].Available--
			},
			want: map[audit.Kind]int{audit.KindReservationMismatch: 1},
		},
		{
			name: "order without payment",
			bend: func(s *fixture.Scenario) {
				// Rejected by inventory; the payment service never saw it.
				o := s.Place("alice", []events.OrderItem{{SKU: "SKU-404", Quantity: 1, UnitPriceCents: 100}}, s.Rejected.CreatedAt)
				cancelled := s.React(o, s.Reserve(o, o.CreatedAt), o.CreatedAt.Add(time.Second))
				s.Release(o, cancelled, o.CreatedAt.Add(2*time.Second))
			},
			want: map[audit.Kind]int{audit.KindMissingPayment: 1},
		},
		{
			name: "order without reservation",
			bend: func(s *fixture.Scenario) {
				// Unpaid (no account); the inventory service never saw it.
				o := s.Place("zed", []events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 100}}, s.PaymentFailed.CreatedAt)
				cancelled := s.React(o, s.Charge(o, o.CreatedAt), o.CreatedAt.Add(time.Second))
				s.Refund(o, cancelled, o.CreatedAt.Add(2*time.Second))
			},
			want: map[audit.Kind]int{audit.KindMissingReservation: 1},
		},
		{
			name: "payment of an unknown order",
			bend: func(s *fixture.Scenario) {
				s.Accounts["olga"] = 1_000
				ghost := &fixture.Order{ID: uuid.NewString(), Customer: "olga", Currency: "EUR", TotalCents: 100}
				ghost.Created = &fixture.Record{ID: uuid.NewString(), Type: events.TypeOrderCreated}
				s.Charge(ghost, s.Confirmed.CreatedAt)
			},
			want: map[audit.Kind]int{audit.KindOrphanPayment: 1},
		},
		{
			name: "reservation of an unknown order",
			bend: func(s *fixture.Scenario) {
				ghost := &fixture.Order{ID: uuid.NewString(), Items: []events.OrderItem{{SKU: "SKU-404", Quantity: 1}}}
				ghost.Created = &fixture.Record{ID: uuid.NewString(), Type: events.TypeOrderCreated}
				s.Reserve(ghost, s.Confirmed.CreatedAt)
			},
			want: map[audit.Kind]int{audit.KindOrphanReservation: 1},
		},
		{
			name: "phantom event",
			bend: func(s *fixture.Scenario) {
				// A refund published by a transaction that rolled back.
				p := s.Payment(s.Confirmed)
				s.Emit(events.PaymentRefunded{PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.Customer, AmountCents: p.AmountCents,
					Currency: p.Currency, RefundedAt: later(s.Confirmed)}, later(s.Confirmed))
			},
			want: map[audit.Kind]int{audit.KindPhantomEvent: 1},
		},
		{
			name: "poison record",
			bend: func(s *fixture.Scenario) {
				// A record with an event's headers and a payload its schema
				// refuses: consumers dead-letter it; it is no event.
				s.Records = append(s.Records, &fixture.Record{Topic: events.TopicPayment, Key: "poison", ID: uuid.NewString(),
					Type: events.TypePaymentCaptured, Value: []byte(`{"not": "a payment"}`), Timestamp: s.Confirmed.CreatedAt})
			},
		},
		{
			name: "double effect",
			bend: func(s *fixture.Scenario) {
				// A second charge event under another id: a charge applied twice.
				p := s.Payment(s.Confirmed)
				s.Emit(events.PaymentCaptured{PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.Customer, AmountCents: p.AmountCents,
					Currency: p.Currency, CapturedAt: p.CreatedAt}, p.CreatedAt)
			},
			want: map[audit.Kind]int{audit.KindDoubleEffect: 1},
		},
		{
			name: "conflicting events",
			bend: func(s *fixture.Scenario) {
				// Too recent to be judged a phantom, never consistent.
				now := time.Now()
				s.Emit(events.OrderConfirmed{OrderID: s.PaymentFailed.ID, CustomerID: "bob", TotalCents: 5_000, Currency: "EUR", ConfirmedAt: now}, now)
			},
			want: map[audit.Kind]int{audit.KindConflictingEvents: 1},
		},
		{
			name: "inbox without effect",
			bend: func(s *fixture.Scenario) {
				// The fresh order's OrderCreated claimed, its charge not stored.
				s.Consume("payments", fixture.GroupPayment, s.Fresh.Created)
			},
			want: map[audit.Kind]int{audit.KindInboxWithoutEffect: 1},
		},
		{
			name: "order service inbox without effect",
			bend: func(s *fixture.Scenario) {
				// The order service claimed the fresh order's inventory
				// answer but the order does not show it. Too recent for
				// the missing reservation to be judged.
				now := time.Now()
				r := s.Emit(events.InventoryReserved{OrderID: s.Fresh.ID,
					Items: []events.StockItem{{SKU: "SKU-2", Quantity: 1}}, ReservedAt: now}, now)
				s.Consume("orders", fixture.GroupOrder, r)
			},
			want: map[audit.Kind]int{audit.KindInboxWithoutEffect: 1},
		},
		{
			name: "confirmed order flags",
			bend: func(s *fixture.Scenario) { s.Confirmed.InventoryReserved = false },
			want: map[audit.Kind]int{audit.KindOrderState: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fixture.Standard(time.Now())
			tc.bend(s)
			env := pool.Env(t)
			s.Write(t, env)
			cfg := audit.Config{
				OrdersDB: env.OrdersDB, PaymentsDB: env.PaymentsDB, InventoryDB: env.InventoryDB,
				Brokers: []string{env.Broker}, Grace: audit.DefaultGrace,
			}
			if !tc.noSeed {
				cfg.Seed = seed()
			}
			rep, err := audit.Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := rep.ByKind()
			if !maps.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				var out bytes.Buffer
				if err := rep.Write(&out); err != nil {
					t.Fatal(err)
				}
				t.Fatalf("violations by kind = %v, want %v\n%s", got, tc.want, out.String())
			}
			if rep.OK() != (len(tc.want) == 0) || len(rep.Violations()) != len(rep.Found) {
				t.Fatalf("OK() = %v with %d violations", rep.OK(), len(rep.Found))
			}
			for i, line := range rep.Violations() {
				if !strings.HasPrefix(line, string(rep.Found[i].Kind)+" ") {
					t.Fatalf("violation line %q does not start with its kind", line)
				}
			}
		})
	}
}

// TestAuditCounts checks the report of the consistent scenario number by
// number, in both of its forms.
func TestAuditCounts(t *testing.T) {
	s := fixture.Standard(time.Now())
	env := fixture.NewPool(t, 1).Env(t)
	s.Write(t, env)
	rep, err := audit.Run(t.Context(), audit.Config{
		OrdersDB: env.OrdersDB, PaymentsDB: env.PaymentsDB, InventoryDB: env.InventoryDB,
		Brokers: []string{env.Broker}, Grace: audit.DefaultGrace, Seed: seed(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"PENDING": 1, "CONFIRMED": 1, "CANCELLED": 2}; !maps.Equal(rep.Orders, want) {
		t.Errorf("orders = %v, want %v", rep.Orders, want)
	}
	if want := map[string]int{"CAPTURED": 1, "FAILED": 1, "REFUNDED": 1}; !maps.Equal(rep.Payments, want) {
		t.Errorf("payments = %v, want %v", rep.Payments, want)
	}
	if want := map[string]int{"COMMITTED": 1, "RELEASED": 1, "REJECTED": 1}; !maps.Equal(rep.Reservations, want) {
		t.Errorf("reservations = %v, want %v", rep.Reservations, want)
	}
	wantTopics := map[string]audit.TopicStats{
		events.TopicOrder: {Topic: events.TopicOrder, Exists: true, Partitions: 3, Records: 9, Malformed: 1, DuplicateIDs: 1, DuplicateRecords: 1,
			ByType: map[string]int{"OrderCreated": 5, "OrderConfirmed": 1, "OrderCancelled": 2}},
		events.TopicPayment: {Topic: events.TopicPayment, Exists: true, Partitions: 3, Records: 4,
			ByType: map[string]int{"PaymentCaptured": 2, "PaymentFailed": 1, "PaymentRefunded": 1}},
		events.TopicInventory: {Topic: events.TopicInventory, Exists: true, Partitions: 3, Records: 4,
			ByType: map[string]int{"InventoryReserved": 2, "InventoryRejected": 1, "InventoryReleased": 1}},
	}
	for _, got := range rep.Topics {
		want := wantTopics[got.Topic]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("topic %s = %+v, want %+v", got.Topic, got, want)
		}
	}
	// The fresh order's payment, reservation and their events are not due.
	if rep.Deferred != 2 || rep.UnseededAccounts != 0 || rep.UnseededSKUs != 0 || rep.UnmappedInbox != 0 {
		t.Errorf("deferred %d, unseeded %d/%d, unmapped %d; want 2, 0/0, 0", rep.Deferred, rep.UnseededAccounts, rep.UnseededSKUs, rep.UnmappedInbox)
	}

	var text bytes.Buffer
	if err := rep.Write(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no violations", "outbox.event.order", "OrderCreated", "CONFIRMED"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	var js struct {
		OK         bool             `json:"ok"`
		Orders     map[string]int   `json:"ordersByStatus"`
		Violations []map[string]any `json:"violations"`
		Topics     []struct {
			Topic        string `json:"topic"`
			DuplicateIDs int    `json:"duplicateIds"`
		} `json:"topics"`
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &js); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !js.OK || js.Orders["CANCELLED"] != 2 || js.Violations == nil || len(js.Violations) != 0 || len(js.Topics) != 3 || js.Topics[0].DuplicateIDs != 1 {
		t.Errorf("JSON report = %s", buf.String())
	}
}

// TestAuditOfAnEmptySystem: nothing stored, no topic yet. The audit finds
// nothing wrong and leaves the broker as it was: no topic created.
func TestAuditOfAnEmptySystem(t *testing.T) {
	env := fixture.NewPool(t, 1).Env(t)
	rep, err := audit.Run(t.Context(), audit.Config{
		OrdersDB: env.OrdersDB, PaymentsDB: env.PaymentsDB, InventoryDB: env.InventoryDB,
		Brokers: []string{env.Broker}, Seed: &audit.Seed{Accounts: map[string]int64{}, Stock: map[string]int64{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Topics) != len(audit.RoutedTopics) {
		t.Fatalf("report: %v, topics %+v", rep.Violations(), rep.Topics)
	}
	for _, ts := range rep.Topics {
		if ts.Exists || ts.Records != 0 {
			t.Errorf("topic %+v, want absent", ts)
		}
	}
	topics, err := kadm.NewClient(kafkatest.Client(t, env.Broker)).ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if names := topics.Names(); len(names) != 0 {
		t.Fatalf("the audit created topics %v", names)
	}
}

// TestRunRefusesAnIncompleteConfig: what is missing is named before
// anything is dialled.
func TestRunRefusesAnIncompleteConfig(t *testing.T) {
	_, err := audit.Run(t.Context(), audit.Config{OrdersDB: "postgres://x", Grace: -time.Second})
	for _, want := range []string{"no payments database", "no inventory database", "no Kafka brokers", "grace -1s is negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

// TestReportListsAtMostMaxListed: a report with many violations lists
// MaxListed of them and says how many more there are.
func TestReportListsAtMostMaxListed(t *testing.T) {
	rep := &audit.Report{}
	for i := range audit.MaxListed + 5 {
		rep.Found = append(rep.Found, audit.Violation{Kind: audit.KindLostEvent, Subject: fmt.Sprintf("order %02d", i), Detail: "gone"})
	}
	var out bytes.Buffer
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Count(text, ": gone") != audit.MaxListed || !strings.Contains(text, "... and 5 more") {
		t.Fatalf("report:\n%s", text)
	}
}

func TestParseSeed(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    *audit.Seed
		wantErr bool
	}{
		{in: `{"accounts": {"alice": 100}, "stock": {"SKU-1": 5}}`, want: &audit.Seed{Accounts: map[string]int64{"alice": 100}, Stock: map[string]int64{"SKU-1": 5}}},
		{in: `{"accounts": {"alice": 100}}`, want: &audit.Seed{Accounts: map[string]int64{"alice": 100}}},
		{in: `{"account": {"alice": 100}}`, wantErr: true},
		{in: `{"accounts": {"alice": "100"}}`, wantErr: true},
		{in: `{} {}`, wantErr: true},
		{in: ``, wantErr: true},
	} {
		got, err := audit.ParseSeed(strings.NewReader(tc.in))
		if (err != nil) != tc.wantErr || err == nil && fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseSeed(%s) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
