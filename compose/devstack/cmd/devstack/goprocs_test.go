package main

import (
	"slices"
	"testing"
)

func TestGoProcsEnv(t *testing.T) {
	tests := []struct {
		name string
		set  string // GOMAXPROCS in the environment
		cpus int
		want []string
	}{
		{"one CPU", "", 1, []string{"GOMAXPROCS=1"}},
		{"two CPUs", "", 2, []string{"GOMAXPROCS=1"}},
		{"three CPUs", "", 3, []string{"GOMAXPROCS=1"}},
		{"eight CPUs", "", 8, []string{"GOMAXPROCS=4"}},
		{"set by the user", "6", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "GOMAXPROCS" {
					return tt.set
				}
				return ""
			}
			if got := goProcsEnv(getenv, tt.cpus); !slices.Equal(got, tt.want) {
				t.Fatalf("goProcsEnv = %q, want %q", got, tt.want)
			}
		})
	}
}
