package eventtest

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func database(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, ddl := range []string{outbox.Schema, inbox.Schema} {
		if _, err := pool.Exec(t.Context(), ddl); err != nil {
			t.Fatal(err)
		}
	}
	return pool
}

// The consumer runtime decodes a Record into the Event that Event builds,
// and WaitHandled sees it once the runtime has handled it.
func TestRecordThroughTheConsumer(t *testing.T) {
	t.Parallel()
	pool, broker := database(t), kafkatest.Start(t)
	var mu sync.Mutex
	var got []consumer.Event
	c, err := consumer.New(consumer.Config{
		Brokers: []string{broker}, Group: "g", Topics: []string{"outbox.event.cart"}, Pool: pool,
		Logger: slog.New(slog.DiscardHandler), ClientOpts: []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)},
		Handler: func(_ context.Context, _ pgx.Tx, ev consumer.Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})

	type added struct {
		Name string `json:"name"`
	}
	first := Record(t, "outbox.event.cart", "ItemAdded", "cart-1", added{Name: "book"})
	again := RecordWithID(t, ID(first), "outbox.event.cart", "ItemAdded", "cart-1", []byte(`{"name":"book"}`))
	raw := Record(t, "outbox.event.cart", "ItemRemoved", "cart-2", []byte(`{"name":"pen"}`))
	kafkatest.Produce(t, broker, "outbox.event.cart", first, again, raw)
	outcomes := WaitHandled(t, pool, "g", IDs(first, raw)...)
	if outcomes[ID(first)] != "processed" || outcomes[ID(raw)] != "processed" || len(outcomes) != 2 {
		t.Fatalf("outcomes = %v", outcomes)
	}

	want := Event(t, "outbox.event.cart", "ItemAdded", "cart-1", added{Name: "book"})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("handled %d events, want 2 (the redelivery is skipped)", len(got))
	}
	for _, ev := range got {
		if ev.Key == "cart-1" {
			if ev.ID != ID(first) || ev.Type != want.Type || string(ev.Payload) != string(want.Payload) || ev.Topic != want.Topic {
				t.Fatalf("consumed %+v, want the fields of %+v with id %s", ev, want, ID(first))
			}
		}
	}
}

func TestIDs(t *testing.T) {
	a, b := Record(t, "t", "A", "k", 1), Record(t, "t", "B", "k", 2)
	if ids := IDs(a, b); len(ids) != 2 || ids[0] == ids[1] || ids[0] != ID(a) {
		t.Fatalf("IDs = %q", ids)
	}
	if ID(&kgo.Record{}) != "" {
		t.Fatal("a record without an id header has an id")
	}
	if c := Redelivery(a); c == a || ID(c) != ID(a) || string(c.Key) != "k" || string(c.Value) != "1" || c.Topic != "t" || len(c.Headers) != 2 {
		t.Fatalf("Redelivery = %+v, want a new record of the same event", c)
	}
	if ev := Event(t, "t", "A", "k", map[string]int{"n": 1}); string(ev.Payload) != `{"n":1}` || ev.Key != "k" || ev.ID == "" {
		t.Fatalf("Event = %+v", ev)
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	pool := database(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := outbox.NewWriter()
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		return w.Append(t.Context(), tx,
			outbox.Event{AggregateType: "cart", AggregateID: "c2", Type: "Later", Payload: []byte(`{"n":3}`), OccurredAt: at.Add(time.Second)},
			outbox.Event{AggregateType: "cart", AggregateID: "c1", Type: "First", Payload: []byte(`{"n":1}`), OccurredAt: at},
			outbox.Event{AggregateType: "cart", AggregateID: "c1", Type: "Second", Payload: []byte(`{"n":2}`), OccurredAt: at.Add(time.Millisecond)},
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	all := Outbox(t, pool, Expect{AggregateType: "cart", Validate: func(string, []byte) error { return nil }})
	if got := Types(all); !slices.Equal(got, []string{"First", "Second", "Later"}) {
		t.Fatalf("types = %q, want in occurred_at order", got)
	}
	if all[0].AggregateID != "c1" || all[0].Fields["n"] != float64(1) || string(all[0].Payload) != `{"n": 1}` || all[0].ID == "" {
		t.Fatalf("first row = %+v", all[0])
	}
	if got := Types(Outbox(t, pool, Expect{}, "c2")); !slices.Equal(got, []string{"Later"}) {
		t.Fatalf("rows of c2 = %q", got)
	}
	if got := Outbox(t, pool, Expect{}, "nobody"); len(got) != 0 {
		t.Fatalf("rows of an unknown aggregate = %+v", got)
	}
}

func TestCheck(t *testing.T) {
	fail := func(string, []byte) error { return errors.New("required property missing") }
	tests := []struct {
		name string
		row  Row
		want Expect
		says []string
	}{
		{"fine", Row{AggregateType: "cart", Payload: []byte(`{}`)}, Expect{AggregateType: "cart"}, nil},
		{"no expectation", Row{AggregateType: "x", Payload: []byte(`{}`)}, Expect{}, nil},
		{"wrong aggregate type", Row{AggregateType: "order", Payload: []byte(`{}`)}, Expect{AggregateType: "cart"},
			[]string{`aggregatetype "order", want "cart"`}},
		{"schema", Row{Payload: []byte(`{}`)}, Expect{Validate: fail}, []string{"breaks its schema: required property missing"}},
		{"not an object", Row{Payload: []byte(`[1]`)}, Expect{}, []string{"not a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(&tt.row, tt.want)
			if len(got) != len(tt.says) {
				t.Fatalf("check = %q, want %d problems", got, len(tt.says))
			}
			for i, s := range tt.says {
				if !strings.Contains(got[i], s) {
					t.Fatalf("problem %q does not say %q", got[i], s)
				}
			}
		})
	}
}
