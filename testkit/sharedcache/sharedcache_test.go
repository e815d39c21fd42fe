package sharedcache_test

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/outboxcdc/outboxcdc/testkit/sharedcache"
)

// TestLockIsExclusive has goroutines, each with its own open file (as
// separate processes would), take the lock and checks that no two ever
// hold it at once.
func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var holders, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				unlock, err := sharedcache.Lock(path)
				if err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				holders.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Fatalf("%d holders at once, want 1", m)
	}
}

func TestLockReportsAnUnusablePath(t *testing.T) {
	if _, err := sharedcache.Lock(filepath.Join(t.TempDir(), "missing", "lock")); err == nil {
		t.Fatal("Lock in a missing directory succeeded")
	}
}

func TestDir(t *testing.T) {
	tests := []struct {
		name, override, xdg, home, want string
	}{
		{name: "override wins", override: "/srv/cache", xdg: "/x", home: "/h", want: "/srv/cache"},
		{name: "XDG cache home", xdg: "/x", home: "/h", want: "/x/outboxcdc/jar"},
		{name: "home", home: "/h", want: "/h/.cache/outboxcdc/jar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OUTBOXCDC_TEST_CACHE", tt.override)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := sharedcache.Dir("jar", "OUTBOXCDC_TEST_CACHE"); got != tt.want {
				t.Fatalf("Dir = %q, want %q", got, tt.want)
			}
		})
	}
}
