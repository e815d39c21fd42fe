package inbox_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), inbox.Schema); err != nil {
		t.Fatal(err)
	}
	return pool
}

// claim runs Claim in its own transaction and commits it.
func claim(t *testing.T, pool *pgxpool.Pool, table, group, id string, m inbox.Meta) (bool, error) {
	t.Helper()
	var claimed bool
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		var err error
		claimed, err = inbox.Claim(t.Context(), tx, table, group, id, m)
		return err
	})
	return claimed, err
}

func TestClaimOncePerGroup(t *testing.T) {
	pool := setup(t)
	id := uuid.NewString()
	meta := inbox.Meta{Topic: "outbox.event.order", Partition: 2, Offset: 41, EventType: "OrderCreated"}
	for _, step := range []struct {
		name  string
		group string
		want  bool
	}{
		{"first delivery claims", "payment", true},
		{"redelivery is a duplicate", "payment", false},
		{"another group claims its own row", "inventory", true},
		{"and sees its own duplicate", "inventory", false},
	} {
		got, err := claim(t, pool, "", step.group, id, meta)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got != step.want {
			t.Fatalf("%s: claimed = %v, want %v", step.name, got, step.want)
		}
	}
	var topic, typ, outcome string
	var part int32
	var off int64
	err := pool.QueryRow(t.Context(), `SELECT kafka_topic, kafka_partition, kafka_offset, event_type, outcome
FROM inbox WHERE consumer_group = 'payment' AND event_id = $1`, id).Scan(&topic, &part, &off, &typ, &outcome)
	if err != nil {
		t.Fatal(err)
	}
	if topic != meta.Topic || part != meta.Partition || off != meta.Offset || typ != meta.EventType || outcome != "processed" {
		t.Fatalf("row = %s/%d/%d %s %s, want %+v processed", topic, part, off, typ, outcome, meta)
	}
}

func TestRolledBackClaimLeavesNoRow(t *testing.T) {
	pool := setup(t)
	id := uuid.NewString()
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := inbox.Claim(t.Context(), tx, "", "g", id, inbox.Meta{}); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ok, err := claim(t, pool, "", "g", id, inbox.Meta{}); err != nil || !ok {
		t.Fatalf("claim after rollback = %v, %v; want a fresh claim", ok, err)
	}
}

// TestConcurrentClaimWaitsForTheFirst holds one claim open while a second
// transaction claims the same event: the second must wait and then report a
// duplicate once the first commits.
func TestConcurrentClaimWaitsForTheFirst(t *testing.T) {
	pool := setup(t)
	id := uuid.NewString()
	first, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(t.Context())
	if ok, err := inbox.Claim(t.Context(), first, "", "g", id, inbox.Meta{}); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	type result struct {
		ok  bool
		err error
	}
	second := make(chan result, 1)
	go func() {
		ok, err := claim(t, pool, "", "g", id, inbox.Meta{})
		second <- result{ok, err}
	}()
	// The second claim must be blocked on the first one's row lock.
	waitFor(t, 10*time.Second, func() bool {
		var waiting int
		if err := pool.QueryRow(t.Context(),
			`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting == 1
	})
	select {
	case r := <-second:
		t.Fatalf("second claim returned %v, %v while the first was open", r.ok, r.err)
	default:
	}
	if err := first.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := <-second
	if r.err != nil || r.ok {
		t.Fatalf("second claim = %v, %v; want a duplicate", r.ok, r.err)
	}
}

func TestClaimRejects(t *testing.T) {
	pool := setup(t)
	for _, tc := range []struct {
		name     string
		group    string
		id       string
		outcome  inbox.Outcome
		sentinel error
	}{
		{"empty group", "", uuid.NewString(), "", inbox.ErrInvalidClaim},
		{"empty id", "g", "", "", inbox.ErrInvalidClaim},
		{"unknown outcome", "g", uuid.NewString(), "skipped", inbox.ErrInvalidClaim},
		{"id not a uuid", "g", "order-1", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := claim(t, pool, "", tc.group, tc.id, inbox.Meta{Outcome: tc.outcome})
			if err == nil {
				t.Fatal("claim succeeded")
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestClaimQualifiedTableAndDeadLettered(t *testing.T) {
	pool := setup(t)
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA app; CREATE TABLE app.payment_inbox (LIKE inbox INCLUDING ALL)`); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	if ok, err := claim(t, pool, "app.payment_inbox", "g", id, inbox.Meta{Outcome: inbox.DeadLettered}); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	var outcome string
	if err := pool.QueryRow(t.Context(), `SELECT outcome FROM app.payment_inbox WHERE event_id = $1`, id).Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	if outcome != string(inbox.DeadLettered) {
		t.Fatalf("outcome = %q", outcome)
	}
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		<-tick.C
	}
}

func TestLookup(t *testing.T) {
	pool := setup(t)
	processed, dead, unknown := uuid.NewString(), uuid.NewString(), uuid.NewString()
	if _, err := claim(t, pool, "", "payment", processed, inbox.Meta{Topic: "t", EventType: "OrderCreated"}); err != nil {
		t.Fatal(err)
	}
	if _, err := claim(t, pool, "", "payment", dead, inbox.Meta{Topic: "t", EventType: "OrderCreated", Outcome: inbox.DeadLettered}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, group, id string
		want            inbox.Outcome
		found           bool
	}{
		{"processed", "payment", processed, inbox.Processed, true},
		{"dead-lettered", "payment", dead, inbox.DeadLettered, true},
		{"never claimed", "payment", unknown, "", false},
		{"another group's row is not ours", "inventory", processed, "", false},
	}
	for _, tt := range tests {
		got, found, err := inbox.Lookup(t.Context(), pool, "", tt.group, tt.id)
		if err != nil || got != tt.want || found != tt.found {
			t.Errorf("%s: Lookup = %q, %v, %v; want %q, %v", tt.name, got, found, err, tt.want, tt.found)
		}
	}
	if _, _, err := inbox.Lookup(t.Context(), pool, "missing_table", "payment", processed); err == nil {
		t.Error("Lookup in a missing table succeeded")
	}
}

func TestPrune(t *testing.T) {
	pool := setup(t)
	now := time.Now()
	age := func(id string, d time.Duration) {
		if _, err := pool.Exec(t.Context(), `UPDATE inbox SET received_at = $2 WHERE event_id = $1`, id, now.Add(-d)); err != nil {
			t.Fatal(err)
		}
	}
	var old, fresh, otherGroup []string
	for i := range 7 {
		id := uuid.NewString()
		if _, err := claim(t, pool, "", "payment", id, inbox.Meta{Topic: "t", EventType: "OrderCreated"}); err != nil {
			t.Fatal(err)
		}
		switch {
		case i < 5:
			age(id, 8*24*time.Hour)
			old = append(old, id)
		default:
			age(id, time.Hour)
			fresh = append(fresh, id)
		}
	}
	id := uuid.NewString()
	if _, err := claim(t, pool, "", "inventory", id, inbox.Meta{Topic: "t", EventType: "OrderCreated"}); err != nil {
		t.Fatal(err)
	}
	age(id, 30*24*time.Hour)
	otherGroup = append(otherGroup, id)

	n, err := inbox.Prune(t.Context(), pool, "", "payment", now.Add(-7*24*time.Hour), 2) // three batches: 2, 2, 1
	if err != nil || n != int64(len(old)) {
		t.Fatalf("Prune = %d, %v; want %d", n, err, len(old))
	}
	for _, c := range []struct {
		ids   []string
		group string
		found bool
	}{{old, "payment", false}, {fresh, "payment", true}, {otherGroup, "inventory", true}} {
		for _, id := range c.ids {
			if _, found, err := inbox.Lookup(t.Context(), pool, "", c.group, id); err != nil || found != c.found {
				t.Errorf("%s row %s: found = %v (%v), want %v", c.group, id, found, err, c.found)
			}
		}
	}
	if n, err := inbox.Prune(t.Context(), pool, "", "payment", now.Add(-7*24*time.Hour), 2); err != nil || n != 0 {
		t.Fatalf("second Prune = %d, %v; want 0", n, err)
	}
}

// ClaimAll answers, for each delivery, what Claim would answer in turn.
func TestClaimAll(t *testing.T) {
	pool := setup(t)
	old := uuid.NewString()
	if _, err := claim(t, pool, "", "payment", old, inbox.Meta{Topic: "t", Offset: 1}); err != nil {
		t.Fatal(err)
	}
	a, b, twice := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tests := []struct {
		name   string
		ids    []string
		commit bool
		want   []bool
		rows   int // the group's rows afterwards
	}{
		{"a rolled-back claim leaves nothing", []string{a, b}, false, []bool{true, true}, 1},
		{"new events are claimed, a committed one is not", []string{a, old, b}, true, []bool{true, false, true}, 3},
		{"all duplicates", []string{b, a}, true, []bool{false, false}, 3},
		{"a new one and an old one", []string{uuid.NewString(), old}, true, []bool{true, false}, 4},
		{"an id twice is claimed by its first delivery", []string{twice, twice}, true, []bool{true, false}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := make([]inbox.Delivery, len(tc.ids))
			for i, id := range tc.ids {
				ds[i] = inbox.Delivery{EventID: id, Topic: "outbox.event.order", Partition: 3, Offset: int64(10 + i), EventType: "OrderCreated"}
			}
			tx, err := pool.Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, err := inbox.ClaimAll(t.Context(), tx, "", "payment", ds)
			if err != nil {
				t.Fatal(err)
			}
			if tc.commit {
				err = tx.Commit(t.Context())
			} else {
				err = tx.Rollback(t.Context())
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("claimed = %v, want %v", got, tc.want)
			}
			var rows int
			if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE consumer_group = 'payment'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != tc.rows {
				t.Fatalf("rows = %d, want %d", rows, tc.rows)
			}
		})
	}
	// Where each claim was read is recorded, as Claim does.
	var topic string
	var part int32
	var off int64
	if err := pool.QueryRow(t.Context(), `SELECT kafka_topic, kafka_partition, kafka_offset FROM inbox WHERE event_id = $1`, a).Scan(&topic, &part, &off); err != nil {
		t.Fatal(err)
	}
	if topic != "outbox.event.order" || part != 3 || off != 10 {
		t.Fatalf("row of %s = %s/%d@%d, want outbox.event.order/3@10", a, topic, part, off)
	}
	// An id that is no UUID claims nothing.
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		_, err := inbox.ClaimAll(t.Context(), tx, "", "payment", []inbox.Delivery{{EventID: uuid.NewString()}, {EventID: "nope"}})
		return err
	})
	if !errors.Is(err, inbox.ErrInvalidClaim) {
		t.Fatalf("ClaimAll with a bad id = %v, want ErrInvalidClaim", err)
	}
}

// QueueClaimAll's statement runs in its place in the caller's batch, and
// its answers are ClaimAll's once the batch's results are read; a statement
// of the batch that fails rolls the claims back with the transaction.
func TestQueueClaimAll(t *testing.T) {
	pool := setup(t)
	old := uuid.NewString()
	if _, err := claim(t, pool, "", "payment", old, inbox.Meta{Topic: "t", Offset: 1}); err != nil {
		t.Fatal(err)
	}
	fresh := uuid.NewString()
	ds := []inbox.Delivery{{EventID: fresh, Topic: "t", Offset: 2}, {EventID: old, Topic: "t", Offset: 3}}
	tests := []struct {
		name    string
		after   string // the caller's statement, queued after the claims
		want    []bool
		wantErr bool
		rows    int // the group's rows afterwards
	}{
		{"a failing statement after the claims", `SELECT 1/0`, nil, true, 1},
		{"the claims see their place in the batch", `SELECT count(*) FROM inbox WHERE consumer_group = 'payment'`, []bool{true, false}, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
				b := &pgx.Batch{}
				claimed, err := inbox.QueueClaimAll(b, "", "payment", ds)
				if err != nil {
					return err
				}
				if slices.Contains(claimed, true) {
					t.Errorf("claimed = %v before the batch was sent", claimed)
				}
				var seen int
				b.Queue(tc.after).QueryRow(func(row pgx.Row) error { return row.Scan(&seen) })
				if err := tx.SendBatch(t.Context(), b).Close(); err != nil {
					return err
				}
				if !slices.Equal(claimed, tc.want) {
					t.Errorf("claimed = %v, want %v", claimed, tc.want)
				}
				if seen != tc.rows { // the statement after the claims sees them
					t.Errorf("the statement after the claims counted %d rows, want %d", seen, tc.rows)
				}
				return nil
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			var rows int
			if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE consumer_group = 'payment'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != tc.rows {
				t.Fatalf("rows = %d, want %d", rows, tc.rows)
			}
		})
	}
	// Deliveries ClaimAll refuses queue nothing.
	b := &pgx.Batch{}
	if _, err := inbox.QueueClaimAll(b, "", "payment", []inbox.Delivery{{EventID: "nope"}}); !errors.Is(err, inbox.ErrInvalidClaim) || b.Len() != 0 {
		t.Fatalf("QueueClaimAll with a bad id = %v with %d statements queued, want ErrInvalidClaim and none", err, b.Len())
	}
}
