package main

import "strconv"

// goProcsEnv returns the GOMAXPROCS the stack's Go programs (the broker,
// walrelay, the services, Jaeger) run with: half the machine's CPUs, at
// least one, unless the environment sets GOMAXPROCS, which they then
// inherit as it is.
//
// They share the machine with each other and with PostgreSQL, as
// containers with a CPU limit would, and none of them needs every CPU. A Go
// program with more Ps than it keeps busy wakes idle ones to look for work
// at every hand-off between goroutines; on a small machine that spinning
// and the thread wake-ups behind it were a tenth of these programs' CPU.
func goProcsEnv(getenv func(string) string, cpus int) []string {
	if getenv("GOMAXPROCS") != "" {
		return nil
	}
	return []string{"GOMAXPROCS=" + strconv.Itoa(max(1, cpus/2))}
}
