package failures

import (
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name   string
		helper func(testing.TB)
		want   string
	}{
		{"passes", func(testing.TB) {}, ""},
		{"errors twice", func(tb testing.TB) { tb.Errorf("a %d", 1); tb.Error("b") }, "a 1\nb"},
		{"fatal stops the helper", func(tb testing.TB) { tb.Fatalf("stop"); tb.Error("never") }, "stop"},
		{"fatal without format", func(tb testing.TB) { tb.Fatal("stop", 2) }, "stop2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(t, tt.helper); got != tt.want {
				t.Fatalf("Of = %q, want %q", got, tt.want)
			}
		})
	}
}
