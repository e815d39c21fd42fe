package sourcetask

import (
	"testing"
	"time"
)

func TestReceiveWait(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name          string
		nextHeartbeat time.Time
		inTx          bool
		want          time.Duration
	}{
		{"no heartbeat", time.Time{}, false, 250 * time.Millisecond},
		{"heartbeat far off", now.Add(time.Minute), false, 250 * time.Millisecond},
		{"heartbeat soon", now.Add(40 * time.Millisecond), false, 40 * time.Millisecond},
		{"heartbeat due", now.Add(-time.Second), false, time.Millisecond},
		{"heartbeat due inside a transaction", now.Add(-time.Second), true, 250 * time.Millisecond},
		{"heartbeat soon inside a transaction", now.Add(40 * time.Millisecond), true, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := receiveWait(now, tt.nextHeartbeat, tt.inTx); got != tt.want {
				t.Fatalf("receiveWait = %s, want %s", got, tt.want)
			}
		})
	}
}
