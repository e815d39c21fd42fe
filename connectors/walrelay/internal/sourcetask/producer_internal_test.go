package sourcetask

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The producer's linger is the connector's producer.override.linger.ms, or
// the Java producer's 5 ms.
func TestProducerLinger(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  time.Duration
	}{
		{"default", baseProps(), 5 * time.Millisecond},
		{"override", with(baseProps(), "producer.override.linger.ms", "1"), time.Millisecond},
		{"none", with(baseProps(), "producer.override.linger.ms", "0"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, errs := ParseConfig(tt.props)
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			task := &Task{cfg: cfg, opts: Options{Brokers: []string{"127.0.0.1:1"}}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cl, err := task.newProducer()
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if got := cl.OptValue(kgo.ProducerLinger); got != tt.want {
				t.Fatalf("linger = %v, want %v", got, tt.want)
			}
		})
	}
}
