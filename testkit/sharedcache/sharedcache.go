// Package sharedcache is where the machine keeps what is slow to make and
// the same for every checkout and test run (the JVM stack's jars, the
// Jaeger binary): Dir names a kind's directory outside any repository, so
// it survives a reset of a stack's state, and Lock serialises the
// processes that build or fetch into it with an exclusive advisory lock
// (flock), which the kernel releases when the holder unlocks or dies, so a
// crashed builder never leaves the next one waiting.
package sharedcache

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Dir is the cache directory of kind: $<override> when set, else
// $XDG_CACHE_HOME/outboxcdc/<kind>, else ~/.cache/outboxcdc/<kind>, else
// outboxcdc-<kind> in the temporary directory.
func Dir(kind, override string) string {
	if d := os.Getenv(override); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "outboxcdc", kind)
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "outboxcdc", kind)
	}
	return filepath.Join(os.TempDir(), "outboxcdc-"+kind)
}

// Lock blocks until it holds an exclusive lock on path (created if
// missing), and returns the function that releases it.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sharedcache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("sharedcache: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
