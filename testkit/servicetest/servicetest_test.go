package servicetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/internal/failures"
)

// command is a run function logging like a service; the flags break it.
func command(failStart, failStop, skipStopLog bool) Run {
	return func(ctx context.Context, stop context.CancelFunc, getenv func(string) string, stdout io.Writer) error {
		log := slog.New(slog.NewJSONHandler(stdout, nil))
		if failStart {
			return errors.New("no database")
		}
		log.Info(getenv("NAME") + " service started")
		<-ctx.Done()
		stop()
		if failStop {
			return errors.New("consumer did not stop")
		}
		if !skipStopLog {
			log.Info(getenv("NAME") + " service stopped")
		}
		return nil
	}
}

func TestStopsOnSignal(t *testing.T) {
	tests := []struct {
		name  string
		run   Run
		fails string // "" when the command behaves
	}{
		{"clean", command(false, false, false), ""},
		{"start-up fails", command(true, false, false), "run returned before start-up finished: no database"},
		{"stop fails", command(false, true, false), "run = consumer did not stop"},
		{"no shutdown log", command(false, false, true), "no shutdown log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := failures.Of(t, func(tb testing.TB) { StopsOnSignal(tb, "cart", map[string]string{"NAME": "cart"}, tt.run) })
			if tt.fails == "" && got != "" {
				t.Fatalf("StopsOnSignal failed: %s", got)
			}
			if tt.fails != "" && !strings.Contains(got, tt.fails) {
				t.Fatalf("StopsOnSignal reported %q, want a failure saying %q", got, tt.fails)
			}
		})
	}
}

func TestLogBuffer(t *testing.T) {
	var b LogBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := b.Write([]byte("x")); err != nil {
				t.Error(err)
			}
			_ = b.String()
		})
	}
	wg.Wait()
	if b.String() != "xxxxxxxx" {
		t.Fatalf("buffer = %q", b.String())
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, 10*time.Second, "the third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	got := failures.Of(t, func(tb testing.TB) { WaitFor(tb, 50*time.Millisecond, "nothing", func() bool { return false }) })
	if !strings.Contains(got, "timed out after 50ms waiting for nothing") {
		t.Fatalf("reported %q", got)
	}
}
