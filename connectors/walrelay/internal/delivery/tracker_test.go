package delivery

import (
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/pgoutput"
)

func TestTracker(t *testing.T) {
	type step struct {
		do   string // open N | add N | seal N lsn | ack N | pos lsn
		n    int
		lsn  pgoutput.LSN
		want pgoutput.LSN // confirmed after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"empty transaction confirms at once", []step{
			{do: "open", n: 0, want: 10}, {do: "seal", n: 0, lsn: 20, want: 20},
		}},
		{"transaction waits for its records", []step{
			{do: "open", n: 0, want: 10}, {do: "add", n: 0, want: 10}, {do: "add", n: 0, want: 10},
			{do: "seal", n: 0, lsn: 20, want: 10}, {do: "ack", n: 0, want: 10}, {do: "ack", n: 0, want: 20},
		}},
		{"acks before the seal do not confirm an open transaction", []step{
			{do: "open", n: 0}, {do: "add", n: 0}, {do: "ack", n: 0, want: 10}, {do: "seal", n: 0, lsn: 30, want: 30},
		}},
		{"later transaction acked first waits for the earlier one", []step{
			{do: "open", n: 0}, {do: "add", n: 0}, {do: "seal", n: 0, lsn: 20, want: 10},
			{do: "open", n: 1}, {do: "add", n: 1}, {do: "seal", n: 1, lsn: 30, want: 10},
			{do: "ack", n: 1, want: 10}, {do: "ack", n: 0, want: 30},
		}},
		{"idle position confirms at once when nothing is in flight", []step{
			{do: "pos", lsn: 50, want: 50}, {do: "pos", lsn: 40, want: 50},
		}},
		{"idle position waits behind records in flight", []step{
			{do: "open", n: 0}, {do: "add", n: 0}, {do: "seal", n: 0, lsn: 20, want: 10},
			{do: "pos", lsn: 60, want: 10}, {do: "pos", lsn: 70, want: 10},
			{do: "ack", n: 0, want: 70},
		}},
		{"empty transactions between busy ones", []step{
			{do: "open", n: 0}, {do: "add", n: 0}, {do: "seal", n: 0, lsn: 20},
			{do: "open", n: 1}, {do: "seal", n: 1, lsn: 25},
			{do: "open", n: 2}, {do: "add", n: 2}, {do: "seal", n: 2, lsn: 30},
			{do: "ack", n: 0, want: 25}, {do: "ack", n: 2, want: 30},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(10, nil)
			entries := map[int]*Entry{}
			for i, s := range tt.steps {
				switch s.do {
				case "open":
					entries[s.n] = tr.Open()
				case "add":
					tr.Add(entries[s.n])
				case "seal":
					tr.Seal(entries[s.n], s.lsn, time.Time{})
				case "ack":
					tr.Ack(entries[s.n])
				case "pos":
					tr.Position(s.lsn)
				}
				if s.want != 0 {
					if got := tr.Confirmed(); got != s.want {
						t.Fatalf("step %d (%s %d %s): confirmed %s, want %s", i, s.do, s.n, s.lsn, got, s.want)
					}
				}
			}
		})
	}
}

func TestTrackerDoneCallbackAndInFlight(t *testing.T) {
	type done struct {
		at      time.Time
		records int
	}
	var got []done
	tr := NewTracker(0, func(ct time.Time, n int) { got = append(got, done{ct, n}) })
	t1 := time.Unix(100, 0)
	e := tr.Open()
	tr.Add(e)
	tr.Add(e)
	tr.Seal(e, 5, t1)
	if n := tr.InFlight(); n != 2 {
		t.Fatalf("InFlight = %d, want 2", n)
	}
	empty := tr.Open()
	tr.Seal(empty, 6, t1)
	tr.Ack(e)
	tr.Ack(e)
	if n := tr.InFlight(); n != 0 {
		t.Fatalf("InFlight = %d, want 0", n)
	}
	if len(got) != 1 || got[0].records != 2 || !got[0].at.Equal(t1) {
		t.Fatalf("done callbacks %+v, want one with 2 records", got)
	}
	if c := tr.Confirmed(); c != 6 {
		t.Fatalf("confirmed %s", c)
	}
}

// TestTrackerConcurrentAcks acks from many goroutines, as producer
// callbacks do, while the reader keeps opening entries; the race detector
// and the final position check the locking.
func TestTrackerConcurrentAcks(t *testing.T) {
	tr := NewTracker(0, nil)
	const txns, perTx = 500, 4
	acks := make(chan *Entry, txns*perTx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range acks {
				tr.Ack(e)
			}
		}()
	}
	for i := 1; i <= txns; i++ {
		e := tr.Open()
		for range perTx {
			tr.Add(e)
			acks <- e
		}
		tr.Seal(e, pgoutput.LSN(i*10), time.Time{})
		if i%50 == 0 {
			tr.Position(pgoutput.LSN(i*10 + 5))
		}
	}
	close(acks)
	wg.Wait()
	if got, want := tr.Confirmed(), pgoutput.LSN(txns*10+5); got != want {
		t.Fatalf("confirmed %s, want %s", got, want)
	}
	if len(tr.entries)-tr.head != 0 {
		t.Fatalf("%d entries left", len(tr.entries)-tr.head)
	}
}
