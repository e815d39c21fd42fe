package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/kafkatest"
	"github.com/outboxcdc/outboxcdc/libs/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// logBuffer is a bytes.Buffer the logger and the test can share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunStopsOnSignal(t *testing.T) {
	env := map[string]string{
		"HTTP_ADDR":     "127.0.0.1:0",
		"DATABASE_URL":  pgtest.NewDatabase(t),
		"KAFKA_BROKERS": kafkatest.Start(t),
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out logBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, cancel, func(k string) string { return env[k] }, &out) }()

	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), `"msg":"inventory service started"`) {
		select {
		case err := <-errc:
			t.Fatalf("run returned during start-up: %v\n%s", err, out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not start:\n%s", out.String())
		}
	}
	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the signal")
	}
	if !strings.Contains(out.String(), `"msg":"inventory service stopped"`) {
		t.Fatalf("no shutdown log:\n%s", out.String())
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	var out logBuffer
	err := run(t.Context(), func() {}, func(k string) string {
		if k == "KAFKA_BROKERS" {
			return "no-port"
		}
		return ""
	}, &out)
	if err == nil || !strings.Contains(err.Error(), "KAFKA_BROKERS") {
		t.Fatalf("run = %v, want an error naming KAFKA_BROKERS", err)
	}
}
