package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
	"github.com/outboxcdc/outboxcdc/schemas/events"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// dlqWorld is a consistent world with dead letters of each kind.
type dlqWorld struct {
	*fixture.Scenario
	// stuck is an OrderCreated the inventory service gave up on (with a
	// traceparent header and a two-line error); the payment service
	// processed it.
	stuck *fixture.DeadLetter
	// paid is a PaymentCaptured the order service gave up on two hours
	// ago.
	paid *fixture.DeadLetter
	// garbage is the record without headers the payment service gave up
	// on.
	garbage *fixture.DeadLetter
	// pruned is an OrderCreated the payment service gave up on, which the
	// inventory service consumed but no longer has in its inbox.
	pruned *fixture.DeadLetter
	// confirmed is an OrderConfirmed the inventory service gave up on; the
	// payment service, which has no handler for it, consumed it without an
	// inbox row.
	confirmed *fixture.DeadLetter
}

func newDLQWorld(now time.Time) *dlqWorld {
	s := fixture.Standard(now)
	w := &dlqWorld{Scenario: s}
	o := s.Place("alice", []events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 500}}, now.Add(-time.Minute))
	o.Created.Headers = []kgo.RecordHeader{
		{Key: consumer.HeaderID, Value: []byte(o.Created.ID)},
		{Key: consumer.HeaderEventType, Value: []byte(o.Created.Type)},
		{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
	}
	s.React(o, s.Charge(o, now.Add(-59*time.Second)), now.Add(-58*time.Second))
	w.stuck = s.DeadLetter(fixture.GroupInventory, o.Created, "consumer: handler: deadlock detected\nDETAIL: process 42 waits", now.Add(-30*time.Second))

	p := s.Place("bob", []events.OrderItem{{SKU: "SKU-2", Quantity: 1, UnitPriceCents: 100}}, now.Add(-3*time.Hour))
	captured := s.Charge(p, now.Add(-3*time.Hour+time.Second))
	s.Reserve(p, now.Add(-3*time.Hour+2*time.Second))
	w.paid = s.DeadLetter(fixture.GroupOrder, captured, "consumer: invalid event: schemas: invalid PaymentCaptured payload", now.Add(-2*time.Hour))

	var garbage *fixture.Record
	for _, r := range s.Records {
		if r.Key == "garbage" {
			garbage = r
		}
	}
	w.garbage = s.DeadLetter(fixture.GroupPayment, garbage, `consumer: undecodable record: no "id" header`, now.Add(-20*time.Second))

	q := s.Place("alice", []events.OrderItem{{SKU: "SKU-2", Quantity: 1, UnitPriceCents: 100}}, now.Add(-time.Minute))
	w.pruned = s.DeadLetter(fixture.GroupPayment, q.Created, "consumer: handler: timeout", now.Add(-10*time.Second))

	c := s.Saga("alice", []events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 100}}, now.Add(-2*time.Minute), fixture.Skip{Commit: true})
	for _, r := range s.Records {
		if r.Key == c.ID && r.Type == events.TypeOrderConfirmed {
			w.confirmed = s.DeadLetter(fixture.GroupInventory, r, "consumer: handler: timeout", now.Add(-5*time.Second))
		}
	}
	return w
}

// ref names a dead letter as the commands do.
func ref(d *fixture.DeadLetter) string {
	return fmt.Sprintf("%s/%d@%d", d.Topic(), d.Partition, d.Offset)
}

type listed struct {
	Ref       string
	Original  string
	Group     string
	EventID   string
	EventType string
	FailedAt  time.Time
	Attempts  int
	Error     string
	Key       *string
	Value     *string
	ValueJSON json.RawMessage
	Headers   []struct{ Key, Value string }
}

type replayed struct {
	From, Group, EventID string
	Outcome              string
	To                   string
	Rearmed              bool
	Notes                []string
}

// TestDLQ lists, filters, shows and replays dead letters shaped like
// libs/consumer's.
func TestDLQ(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	w := newDLQWorld(now)
	env := fixture.NewPool(t, 1).Env(t)
	w.Write(t, env)
	env.CatchUp(t, fixture.GroupPayment, events.TopicOrder)
	env.CatchUp(t, fixture.GroupInventory, events.TopicOrder)
	env.CatchUp(t, fixture.GroupOrder, events.TopicPayment, events.TopicInventory)
	brokers := []string{"--brokers", env.Broker}

	list := func(t *testing.T, args ...string) []listed {
		t.Helper()
		code, stdout, stderr := runCmd(t, slices.Concat([]string{"dlq", "list", "--json"}, brokers, args)...)
		var out []listed
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
		}
		if want := min(len(out), 1); code != want {
			t.Fatalf("exit %d with %d dead letters, want %d\n%s", code, len(out), want, stderr)
		}
		return out
	}
	refs := func(ls []listed) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Ref)
		}
		return out
	}

	t.Run("list", func(t *testing.T) {
		all := []string{ref(w.stuck), ref(w.garbage), ref(w.pruned), ref(w.paid), ref(w.confirmed)}
		slices.Sort(all)
		for _, tc := range []struct {
			name string
			args []string
			want []string
		}{
			{"all", nil, all},
			{"by group", []string{"--group", fixture.GroupPayment}, sorted(ref(w.garbage), ref(w.pruned))},
			{"by type", []string{"--type", events.TypePaymentCaptured}, []string{ref(w.paid)}},
			{"by original topic", []string{"--topic", events.TopicPayment}, []string{ref(w.paid)}},
			{"by dead-letter topic", []string{"--topic", events.TopicPayment + ".dlq"}, []string{ref(w.paid)}},
			{"since a duration", []string{"--since", "1h"}, sorted(ref(w.stuck), ref(w.garbage), ref(w.pruned), ref(w.confirmed))},
			{"since a time", []string{"--since", now.Add(-25 * time.Second).Format(time.RFC3339)}, sorted(ref(w.garbage), ref(w.pruned), ref(w.confirmed))},
			{"filters together", []string{"--group", fixture.GroupInventory, "--type", events.TypeOrderCreated, "--since", "1h"}, []string{ref(w.stuck)}},
			{"none", []string{"--group", "nobody"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := refs(list(t, tc.args...)); !slices.Equal(got, tc.want) {
					t.Errorf("listed %v, want %v", got, tc.want)
				}
			})
		}
	})

	t.Run("list fields", func(t *testing.T) {
		ls := list(t, "--group", fixture.GroupInventory, "--type", events.TypeOrderCreated)
		if len(ls) != 1 {
			t.Fatalf("listed %+v", ls)
		}
		got, of := ls[0], w.stuck.Of
		if got.Original != fmt.Sprintf("%s/%d@%d", of.Topic, of.Partition, of.Offset) || got.EventID != of.ID ||
			got.EventType != events.TypeOrderCreated || got.Attempts != 5 || !got.FailedAt.Equal(w.stuck.At) ||
			got.Error != w.stuck.Error || got.Key == nil || *got.Key != of.Key || !json.Valid(got.ValueJSON) {
			t.Errorf("dead letter = %+v", got)
		}
	})

	t.Run("list table", func(t *testing.T) {
		code, stdout, _ := runCmd(t, slices.Concat([]string{"dlq", "list"}, brokers)...)
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{ref(w.stuck), "consumer: handler: deadlock detected", fixture.GroupInventory, "5 dead letter(s)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if strings.Contains(stdout, "DETAIL") {
			t.Errorf("the table shows more than the error's first line:\n%s", stdout)
		}
		code, stdout, _ = runCmd(t, slices.Concat([]string{"dlq", "list", "--group", "nobody"}, brokers)...)
		if code != 0 || !strings.Contains(stdout, "no dead letters") {
			t.Errorf("exit %d:\n%s", code, stdout)
		}
	})

	t.Run("show", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, slices.Concat([]string{"dlq", "show", ref(w.stuck)}, brokers)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, want := range []string{
			"dead letter " + ref(w.stuck), "traceparent: 00-0af7651916cd43dd8448eb211c80319c", "dlq.error: consumer: handler: deadlock detected",
			"DETAIL: process 42 waits", "dlq.group: inventory-service", "key: " + w.stuck.Of.Key, "value (JSON):", `"orderId": "` + w.stuck.Of.Key + `"`,
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		code, stdout, _ = runCmd(t, slices.Concat([]string{"dlq", "show", "--json", ref(w.garbage)}, brokers)...)
		var got listed
		if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil {
			t.Fatalf("exit %d, %v\n%s", code, err, stdout)
		}
		if got.Ref != ref(w.garbage) || got.Value == nil || *got.Value != "not json {" || got.ValueJSON != nil || got.EventID != "" {
			t.Errorf("dead letter = %+v", got)
		}
		for _, missing := range []string{
			fmt.Sprintf("%s/%d@%d", w.stuck.Topic(), w.stuck.Partition, 999),
			"outbox.event.order.dlq/7@0",
			"no.such.topic/0@0",
		} {
			code, _, stderr := runCmd(t, slices.Concat([]string{"dlq", "show", missing}, brokers)...)
			if code != 2 || !strings.Contains(stderr, "no such record") {
				t.Errorf("show %s: exit %d, %s", missing, code, stderr)
			}
		}
	})

	replay := func(t *testing.T, wantCode int, args ...string) []replayed {
		t.Helper()
		code, stdout, stderr := runCmd(t, slices.Concat([]string{"dlq", "replay", "--json"}, dbFlags(env), args)...)
		if code != wantCode {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, wantCode, stdout, stderr)
		}
		var out []replayed
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		return out
	}
	// inboxOf returns group's outcome for the event in the database at
	// dsn, "" without a row.
	inboxOf := func(t *testing.T, dsn, group, eventID string) string {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var outcome string
		err = conn.QueryRow(t.Context(), `SELECT outcome FROM inbox WHERE consumer_group = $1 AND event_id = $2`,
			group, eventID).Scan(&outcome)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		return outcome
	}
	// record reads the record at topic/partition@offset.
	record := func(t *testing.T, to string) *kgo.Record {
		t.Helper()
		topic, rest, _ := strings.Cut(to, "/")
		var p int32
		var o int64
		if _, err := fmt.Sscanf(rest, "%d@%d", &p, &o); err != nil {
			t.Fatalf("%q: %v", to, err)
		}
		// Read until that record, whatever the other partitions hold.
		var found *kgo.Record
		_, err := kafkatest.ConsumeUntil(env.Broker, topic, 10*time.Second, func(rs []*kgo.Record) bool {
			for _, r := range rs {
				if r.Partition == p && r.Offset == o {
					found = r
					return true
				}
			}
			return false
		})
		if found == nil {
			t.Fatalf("no record at %s: %v", to, err)
		}
		return found
	}

	t.Run("replay one", func(t *testing.T) {
		of := w.stuck.Of
		target := fmt.Sprintf("%s/%d", of.Topic, stack.Partition([]byte(of.Key), 3))
		if target != fmt.Sprintf("%s/%d", of.Topic, of.Partition) {
			t.Fatalf("the key maps to %s, the original is on partition %d", target, of.Partition)
		}

		dry := replay(t, 0, "--dry-run", ref(w.stuck))
		if len(dry) != 1 || dry[0].Outcome != "would-replay" || dry[0].To != target+"@-1" || !dry[0].Rearmed {
			t.Fatalf("dry run = %+v", dry)
		}
		if got := inboxOf(t, env.InventoryDB, fixture.GroupInventory, of.ID); got != "dead_lettered" {
			t.Fatalf("after a dry run the inbox says %q", got)
		}

		res := replay(t, 0, ref(w.stuck))
		if len(res) != 1 || res[0].Outcome != "replayed" || !strings.HasPrefix(res[0].To, target+"@") || !res[0].Rearmed {
			t.Fatalf("replay = %+v", res)
		}
		if got := inboxOf(t, env.InventoryDB, fixture.GroupInventory, of.ID); got != "" {
			t.Errorf("the inventory service's inbox still says %q: it would skip the copy", got)
		}
		r := record(t, res[0].To)
		wantHeaders := append(slices.Clone(of.Headers), kgo.RecordHeader{Key: "dlq.replayed.from", Value: []byte(ref(w.stuck))})
		if string(r.Key) != of.Key || string(r.Value) != string(of.Value) || fmt.Sprint(r.Headers) != fmt.Sprint(wantHeaders) {
			t.Errorf("replayed record: key %s, value %s, headers %s\nwant key %s, value %s, headers %s",
				r.Key, r.Value, r.Headers, of.Key, of.Value, wantHeaders)
		}

		// The consumer handled the copy: a second replay does nothing.
		conn, err := pgx.Connect(t.Context(), env.InventoryDB)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), `INSERT INTO inbox (consumer_group, event_id, kafka_topic, kafka_partition, kafka_offset,
event_type, outcome) VALUES ($1, $2, $3, $4, $5, $6, 'processed')`, fixture.GroupInventory, of.ID, of.Topic, r.Partition, r.Offset, of.Type); err != nil {
			t.Fatal(err)
		}
		again := replay(t, 0, ref(w.stuck))
		if len(again) != 1 || again[0].Outcome != "skipped" || again[0].To != "" ||
			!strings.Contains(strings.Join(again[0].Notes, " "), "processed event "+of.ID+" already") {
			t.Fatalf("second replay = %+v", again)
		}
	})

	t.Run("replay all of a group", func(t *testing.T) {
		res := replay(t, 0, "--all", "--group", fixture.GroupOrder)
		if len(res) != 1 || res[0].From != ref(w.paid) || res[0].Outcome != "replayed" || !strings.HasPrefix(res[0].To, events.TopicPayment+"/") {
			t.Fatalf("replay = %+v", res)
		}
		r := record(t, res[0].To)
		if string(r.Key) != w.paid.Of.Key || r.Partition != w.paid.Of.Partition {
			t.Errorf("replayed to %s/%d with key %s", r.Topic, r.Partition, r.Key)
		}
	})

	t.Run("replay past a group without a handler for the type", func(t *testing.T) {
		// The payment service consumed the OrderConfirmed and, having no
		// handler for it, keeps no inbox row: that is no pruned row, and
		// the copy has no effect there.
		res := replay(t, 0, "--dry-run", ref(w.confirmed))
		if len(res) != 1 || res[0].Outcome != "would-replay" || !res[0].Rearmed {
			t.Fatalf("dry run = %+v", res)
		}
	})

	t.Run("replay refused", func(t *testing.T) {
		// The payment service's: a record without an id, which every
		// consumer dead-letters, and an OrderCreated the inventory service
		// consumed and no longer holds in its inbox.
		res := replay(t, 1, "--all", "--topic", events.TopicOrder, "--group", fixture.GroupPayment)
		byRef := map[string]replayed{}
		for _, r := range res {
			byRef[r.From] = r
		}
		if g := byRef[ref(w.garbage)]; g.Outcome != "refused" || g.Rearmed || !strings.Contains(strings.Join(g.Notes, " "), "no event id") {
			t.Errorf("garbage = %+v", g)
		}
		p := byRef[ref(w.pruned)]
		if p.Outcome != "refused" || p.Rearmed || !strings.Contains(strings.Join(p.Notes, " "),
			fmt.Sprintf("inventory-service consumed %s/%d@%d but its inbox no longer holds event %s", w.pruned.Of.Topic,
				w.pruned.Of.Partition, w.pruned.Of.Offset, w.pruned.Of.ID)) {
			t.Errorf("pruned = %+v", p)
		}
		if len(res) != 2 {
			t.Errorf("results = %+v", res)
		}
		if got := inboxOf(t, env.PaymentsDB, fixture.GroupPayment, w.pruned.Of.ID); got != "dead_lettered" {
			t.Errorf("after a refusal the payment service's inbox says %q", got)
		}
	})

	t.Run("replay human", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, slices.Concat([]string{"dlq", "replay", "--dry-run", ref(w.pruned)}, dbFlags(env))...)
		if code != 1 || !strings.Contains(stdout, "refused "+ref(w.pruned)) || !strings.Contains(stderr, "1 dead letter(s) refused") {
			t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		code, _, stderr = runCmd(t, slices.Concat([]string{"dlq", "replay", fmt.Sprintf("%s/%d@%d", w.pruned.Topic(), w.pruned.Partition, 999)}, dbFlags(env))...)
		if code != 2 || !strings.Contains(stderr, "no such record") {
			t.Errorf("exit %d\n%s", code, stderr)
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
