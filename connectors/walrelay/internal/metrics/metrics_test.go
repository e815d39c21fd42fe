package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsRegisterAndForget(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.EventsProduced.WithLabelValues("a", "outbox.event.order").Add(2)
	m.EventsProduced.WithLabelValues("b", "outbox.event.order").Inc()
	m.RetainedWAL.WithLabelValues("a", "slot_a").Set(1024)
	m.CommitToAck.WithLabelValues("a").Observe(0.02)

	want := `
# HELP walrelay_events_produced_total Records acknowledged by the broker.
# TYPE walrelay_events_produced_total counter
walrelay_events_produced_total{connector="a",topic="outbox.event.order"} 2
walrelay_events_produced_total{connector="b",topic="outbox.event.order"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "walrelay_events_produced_total"); err != nil {
		t.Fatal(err)
	}
	m.Forget("a")
	want = `
# HELP walrelay_events_produced_total Records acknowledged by the broker.
# TYPE walrelay_events_produced_total counter
walrelay_events_produced_total{connector="b",topic="outbox.event.order"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "walrelay_events_produced_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.RetainedWAL); n != 0 {
		t.Fatalf("retained WAL series after Forget: %d", n)
	}
	if n := testutil.CollectAndCount(m.CommitToAck); n != 0 {
		t.Fatalf("lag series after Forget: %d", n)
	}
}
