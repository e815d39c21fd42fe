package proccpu

import (
	"os"
	"os/exec"
	"testing"
)

// TestTreeCountsChildren burns CPU in a child shell and checks that Tree,
// not CPU, of this process accounts for it once the child was waited for.
func TestTreeCountsChildren(t *testing.T) {
	self := os.Getpid()
	before, err := Tree(self)
	if err != nil {
		t.Fatal(err)
	}
	own, err := CPU(self)
	if err != nil {
		t.Fatal(err)
	}
	// About 0.3 s of CPU in a child process, then waited for.
	if out, err := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	after, err := Tree(self)
	if err != nil {
		t.Fatal(err)
	}
	ownAfter, err := CPU(self)
	if err != nil {
		t.Fatal(err)
	}
	if child := (after - before) - (ownAfter - own); child < 0.05 {
		t.Fatalf("Tree grew by %.2fs, own CPU by %.2fs: the child's CPU is missing", after-before, ownAfter-own)
	}
	if _, err := CPU(1 << 30); err == nil {
		t.Fatal("CPU of a pid that cannot exist: no error")
	}
}
