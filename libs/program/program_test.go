package program

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestReport(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		out  string
	}{
		{"success", nil, 0, ""},
		{"failure", errors.New("database unreachable"), 1, "order: database unreachable\n"},
		{"wrapped failure", fmt.Errorf("start: %w", errors.New("port taken")), 1, "order: start: port taken\n"},
		{"chosen status", Exit(2, "bad flags"), 2, "order: bad flags\n"},
		{"silent status", Exit(1, ""), 1, ""},
		{"chosen status, wrapped", fmt.Errorf("checks: %w", Exit(3, "2 failed")), 3, "order: checks: 2 failed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := report(&out, "order", tt.err); code != tt.code || out.String() != tt.out {
				t.Fatalf("report = %d, %q; want %d, %q", code, out.String(), tt.code, tt.out)
			}
		})
	}
}
