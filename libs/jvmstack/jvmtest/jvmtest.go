// Package jvmtest starts the real Apache Kafka broker and Kafka Connect
// worker of package jvmstack for tests.
//
// Outside CI a machine without java or mvn skips these tests with one line
// naming what is missing; under CI=true they fail instead, so the real stack
// is never silently left out of a CI run.
//
//	lib := jvmtest.LibDir(t)                    // fetched once per machine
//	broker := jvmtest.StartBroker(t)            // fresh broker, stopped at cleanup
//	connect := jvmtest.StartConnect(t, broker.Addr(), "CDC_DB_HOST=127.0.0.1")
package jvmtest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/jvmstack"
)

var (
	fetchOnce sync.Once
	libDir    string
	fetchErr  error
)

// LibDir returns the directory holding the stack's jars, fetching them on
// first use.
func LibDir(t testing.TB) string {
	t.Helper()
	fetchOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		libDir, fetchErr = jvmstack.Fetch(ctx, jvmstack.FetchConfig{})
	})
	if fetchErr != nil {
		if errors.Is(fetchErr, jvmstack.ErrNoJava) && os.Getenv("CI") != "true" {
			t.Skipf("jvmtest: %v", fetchErr)
		}
		t.Fatalf("jvmtest: %v", fetchErr)
	}
	return libDir
}

// StartBroker starts a fresh single-node Apache Kafka broker on free ports,
// stopped when the test ends.
func StartBroker(t testing.TB, opts ...func(*jvmstack.BrokerConfig)) *jvmstack.Broker {
	t.Helper()
	cfg := jvmstack.BrokerConfig{LibDir: LibDir(t), Dir: t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := jvmstack.StartBroker(context.Background(), cfg)
	if err != nil {
		t.Fatalf("jvmtest: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("jvmtest: %v", err)
		}
	})
	return b
}

// StartConnect starts a Kafka Connect worker with Debezium against the
// broker at bootstrap, with env added to its environment, stopped when the
// test ends.
func StartConnect(t testing.TB, bootstrap string, env ...string) *jvmstack.Connect {
	t.Helper()
	c, err := jvmstack.StartConnect(context.Background(), jvmstack.ConnectConfig{
		LibDir: LibDir(t), Dir: t.TempDir(), Bootstrap: bootstrap, Env: env,
	})
	if err != nil {
		t.Fatalf("jvmtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("jvmtest: %v", err)
		}
	})
	return c
}
