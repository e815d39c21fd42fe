// Package filelock serialises processes that build or fetch into one
// shared cache directory (Maven's jars, the Jaeger binary): Lock takes an
// exclusive advisory lock (flock) on a file, which the kernel releases
// when the holder unlocks or dies, so a crashed builder never leaves the
// next one waiting.
package filelock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock blocks until it holds an exclusive lock on path (created if
// missing), and returns the function that releases it.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("filelock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("filelock: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
