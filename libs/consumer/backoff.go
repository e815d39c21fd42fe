package consumer

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff returns the wait before attempt+1: exponential from lo, doubling
// per attempt, capped at hi, with equal jitter (a uniform pick in the upper
// half of the step) and never below lo. rnd(n) returns a value in [0, n).
func backoff(attempt int, lo, hi time.Duration, rnd func(n int64) int64) time.Duration {
	step := lo
	for i := 1; i < attempt && step < hi; i++ {
		step *= 2
	}
	if step > hi || step <= 0 {
		step = hi
	}
	half := step / 2
	w := half + time.Duration(rnd(int64(step-half)+1))
	return max(w, lo)
}

func jitter(n int64) int64 { return rand.Int64N(n) }

// sleep waits d or until ctx is done; it reports whether the full wait
// elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
