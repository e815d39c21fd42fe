package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/outboxctl/internal/fixture"
	"github.com/outboxcdc/outboxcdc/outboxctl/internal/stack"
	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// idOnPartition returns a new order id whose records land on partition p
// of a topic with n partitions.
func idOnPartition(p int32, n int) string {
	for {
		if id := uuid.NewString(); stack.Partition([]byte(id), n) == p {
			return id
		}
	}
}

// checkPartitioning fails unless every record of w is on the partition
// stack.Partition gives its key: what the broker's placement of the
// producer's default partitioner, which murmur2-hashes keys like the Java
// client, did.
func checkPartitioning(t *testing.T, w *fixture.World, partitions int) {
	t.Helper()
	for _, r := range w.Records {
		if want := stack.Partition([]byte(r.Key), partitions); r.Partition != want {
			t.Fatalf("record %s key %q is on partition %d, stack.Partition says %d", r.Type, r.Key, r.Partition, want)
		}
	}
}

// TestOrder runs `outboxctl order` on a settled order of each outcome and
// on pending ones, each held by something else.
func TestOrder(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := fixture.Standard(now)
	// Pending: paid, its OrderCreated not yet consumed by the inventory
	// service. It shares a partition with the confirmed order, whose
	// records come before it there.
	confirmedPartition := stack.Partition([]byte(s.Confirmed.ID), 3)
	pending := s.PlaceAs(idOnPartition(confirmedPartition, 3), "alice",
		[]events.OrderItem{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 700}}, now.Add(-time.Minute))
	s.React(pending, s.Charge(pending, now.Add(-59*time.Second)), now.Add(-58*time.Second))
	// Poisoned: paid, its OrderCreated dead-lettered by the inventory
	// service.
	poisoned := s.Place("bob", []events.OrderItem{{SKU: "SKU-2", Quantity: 1, UnitPriceCents: 100}}, now.Add(-time.Minute))
	s.React(poisoned, s.Charge(poisoned, now.Add(-59*time.Second)), now.Add(-58*time.Second))
	s.DeadLetter(fixture.GroupInventory, poisoned.Created, "consumer: handler: deadlock", now.Add(-50*time.Second))

	env := fixture.NewPool(t, 1).Env(t)
	s.Write(t, env)
	checkPartitioning(t, s.World, 3)
	env.CatchUp(t, fixture.GroupPayment, events.TopicOrder)
	env.CatchUp(t, fixture.GroupInventory, events.TopicOrder)
	env.CatchUp(t, fixture.GroupOrder, events.TopicPayment, events.TopicInventory)
	// The inventory service stopped right after the confirmed order's
	// OrderCreated on the partition.
	committed := s.Confirmed.Created.Offset + 1
	env.Commit(t, fixture.GroupInventory, map[string]map[int32]int64{events.TopicOrder: {confirmedPartition: committed}})
	created := pending.Created
	if created.Partition != confirmedPartition || created.Offset-committed < 2 {
		t.Fatalf("pending OrderCreated at %d@%d, want partition %d beyond offset %d", created.Partition, created.Offset,
			confirmedPartition, committed+1)
	}
	waitLine := fmt.Sprintf("waiting: OrderCreated at %s/%d@%d not yet consumed by inventory-service: its committed offset is %d, lag %d",
		events.TopicOrder, created.Partition, created.Offset, committed, created.Offset-committed)

	for _, tc := range []struct {
		name       string
		id         string
		wantCode   int
		wantLast   string // the last line of stdout
		wantStdout []string
		wantStderr string
	}{
		{
			name: "confirmed", id: s.Confirmed.ID,
			wantLast: "CONFIRMED (payment CAPTURED, stock COMMITTED): settled",
			wantStdout: []string{
				"placed by alice: PENDING, 30.00 EUR, SKU-1 x2 (OrderCreated " + s.Confirmed.Created.ID + ")",
				"CONFIRMED after InventoryReserved",
				"stock COMMITTED",
				fmt.Sprintf("OrderCreated %s on %s/%d@%d; consumed by payment-service, inventory-service",
					s.Confirmed.Created.ID, events.TopicOrder, s.Confirmed.Created.Partition, s.Confirmed.Created.Offset),
				"inventory-service took OrderConfirmed",
			},
		},
		{
			name: "cancelled and refunded", id: s.Rejected.ID,
			wantLast:   "CANCELLED (payment REFUNDED, stock REJECTED): settled",
			wantStdout: []string{"CANCELLED after InventoryRejected", "payment " + s.Payment(s.Rejected).ID + " REFUNDED", "stock REJECTED: SKU-2 x9"},
		},
		{
			name: "cancelled, payment failed", id: s.PaymentFailed.ID,
			wantLast: "CANCELLED (payment FAILED, stock RELEASED): settled",
		},
		{
			name: "pending behind a consumer group", id: pending.ID, wantCode: 1,
			wantLast:   "PENDING (payment CAPTURED, no reservation); " + waitLine,
			wantStdout: []string{"not yet consumed by inventory-service (committed offset " + fmt.Sprint(committed) + ")"},
		},
		{
			name: "pending, dead-lettered", id: poisoned.ID, wantCode: 1,
			wantLast: fmt.Sprintf("PENDING (payment CAPTURED, no reservation); waiting: OrderCreated at %s/%d@%d was dead-lettered by inventory-service: see outboxctl dlq list --group inventory-service",
				events.TopicOrder, poisoned.Created.Partition, poisoned.Created.Offset),
		},
		{
			name: "pending, consumed without an answer", id: s.Fresh.ID, wantCode: 1,
			wantStdout: []string{fmt.Sprintf("no PaymentCaptured/PaymentFailed yet for OrderCreated consumed by payment-service at %s/%d@%d",
				events.TopicOrder, s.Fresh.Created.Partition, s.Fresh.Created.Offset)},
		},
		{name: "no such order", id: uuid.NewString(), wantCode: 2, wantStderr: "no such order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, append([]string{"order", tc.id}, dbFlags(env)...)...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if tc.wantLast != "" && lines[len(lines)-1] != tc.wantLast {
				t.Errorf("last line\n%s\nwant\n%s\nstdout:\n%s", lines[len(lines)-1], tc.wantLast, stdout)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCmd(t, append([]string{"order", "--json", pending.ID}, dbFlags(env)...)...)
		if code != 1 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var got struct {
			Terminal bool
			Waiting  []string
			Order    struct{ ID, Status string }
			Payment  struct{ Status string }
			Records  []struct {
				Topic, Type string
				Partition   int32
				Offset      int64
				Readers     []struct {
					Group     string
					Committed int64
					Consumed  bool
				}
			}
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		if got.Terminal || got.Order.ID != pending.ID || got.Order.Status != "PENDING" || got.Payment.Status != "CAPTURED" ||
			len(got.Waiting) != 1 || "waiting: "+got.Waiting[0] != waitLine {
			t.Fatalf("order = %+v", got)
		}
		// payment-service caught up to the partition's end.
		paymentCommitted := int64(0)
		for _, r := range s.Records {
			if r.Topic == events.TopicOrder && r.Partition == created.Partition {
				paymentCommitted = max(paymentCommitted, r.Offset+1)
			}
		}
		want := fmt.Sprintf("%d@%d [{Group:payment-service Committed:%d Consumed:true} {Group:inventory-service Committed:%d Consumed:false}]",
			created.Partition, created.Offset, paymentCommitted, committed)
		for _, r := range got.Records {
			if r.Type == events.TypeOrderCreated {
				if got := fmt.Sprintf("%d@%d %+v", r.Partition, r.Offset, r.Readers); got != want {
					t.Errorf("OrderCreated readers = %s, want %s", got, want)
				}
			}
		}
	})
}
