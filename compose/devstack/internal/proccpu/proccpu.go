// Package proccpu reads the CPU time processes have used from /proc, for
// benchmarks that report CPU seconds per process of a stack.
package proccpu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times.
var clockTicks = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100 // USER_HZ on every common Linux architecture
})

// stat is the part of /proc/<pid>/stat read here, in clock ticks.
type stat struct {
	ppid                         int
	utime, stime, cutime, cstime float64
}

func readStat(pid int) (stat, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, fmt.Errorf("cpu of pid %d: %w", pid, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// fields count on from the last ')': state is field 3.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return stat{}, fmt.Errorf("cpu of pid %d: short /proc stat %q", pid, s)
	}
	var st stat
	var errs [5]error
	st.ppid, errs[0] = strconv.Atoi(f[4-3])
	st.utime, errs[1] = strconv.ParseFloat(f[14-3], 64)
	st.stime, errs[2] = strconv.ParseFloat(f[15-3], 64)
	st.cutime, errs[3] = strconv.ParseFloat(f[16-3], 64)
	st.cstime, errs[4] = strconv.ParseFloat(f[17-3], 64)
	if err := errors.Join(errs[:]...); err != nil {
		return stat{}, fmt.Errorf("cpu of pid %d: %w", pid, err)
	}
	return st, nil
}

// CPU returns the user plus system CPU seconds of a running process, all
// its threads included.
func CPU(pid int) (float64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return (st.utime + st.stime) / clockTicks(), nil
}

// Tree returns the CPU seconds of a process and all its descendants: the
// live ones and those that exited and were waited for (a PostgreSQL
// postmaster and its backends, say).
func Tree(pid int) (float64, error) {
	root, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	children := map[int][]int{}
	stats := map[int]stat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		stats[p] = st
		children[st.ppid] = append(children[st.ppid], p)
	}
	total := root.utime + root.stime + root.cutime + root.cstime
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		st := stats[p]
		total += st.utime + st.stime + st.cutime + st.cstime
		queue = append(queue, children[p]...)
	}
	return total / clockTicks(), nil
}
