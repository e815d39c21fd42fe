package main

import (
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestRunStopsOnSignal(t *testing.T) {
	servicetest.StopsOnSignal(t, "inventory", map[string]string{
		"HTTP_ADDR":     "127.0.0.1:0",
		"DATABASE_URL":  pgtest.NewDatabase(t),
		"KAFKA_BROKERS": kafkatest.Start(t),
	}, run)
}

func TestRunRejectsBadConfig(t *testing.T) {
	var out servicetest.LogBuffer
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
