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

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunStopsCleanlyOnSignal(t *testing.T) {
	env := map[string]string{
		"HTTP_ADDR":     "127.0.0.1:0",
		"DATABASE_URL":  pgtest.NewDatabase(t),
		"KAFKA_BROKERS": kafkatest.Start(t),
		"LOG_LEVEL":     "info",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, cancel, func(k string) string { return env[k] }, &out) }()

	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), `"msg":"order service started"`) {
		select {
		case err := <-errc:
			t.Fatalf("run returned before start-up finished: %v\n%s", err, out.String())
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
	if !strings.Contains(out.String(), `"msg":"order service stopped"`) {
		t.Fatalf("no shutdown log:\n%s", out.String())
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	var out syncBuffer
	err := run(t.Context(), func() {}, func(k string) string {
		if k == "SHUTDOWN_TIMEOUT" {
			return "soon"
		}
		return ""
	}, &out)
	if err == nil || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") {
		t.Fatalf("run = %v, want an error naming SHUTDOWN_TIMEOUT", err)
	}
}
