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
//
// A broker takes seconds to start, so tests that only need a broker, not a
// fresh one, share one through SharedBroker: the subtests of one parent
// test (a test binary's worth of them) run against a single broker, each on
// its own topics and consumer groups.
package jvmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
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
		skipOrFail(t, fetchErr)
	}
	return libDir
}

// skipOrFail ends t for err: a skip where java or mvn is missing outside
// CI, a failure otherwise.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, jvmstack.ErrNoJava) && os.Getenv("CI") != "true" {
		t.Skipf("jvmtest: %v", err)
	}
	t.Fatalf("jvmtest: %v", err)
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
		// The jars may have been fetched while java was present.
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("jvmtest: %v", err)
		}
	})
	return b
}

// SharedBroker is one Apache Kafka broker for all the subtests of a parent
// test: the first subtest that asks for it starts it, and it stops when the
// parent ends. Subtests sharing it must keep to their own topic names and
// consumer group ids, and must not stop it.
//
//	func TestAgainstKafka(t *testing.T) {
//		shared := jvmtest.NewSharedBroker(t)
//		for _, tc := range cases {
//			t.Run(tc.name, func(t *testing.T) { addr := shared.Broker(t).Addr(); ... })
//		}
//	}
type SharedBroker struct {
	parent testing.TB
	opts   []func(*jvmstack.BrokerConfig)

	mu      sync.Mutex
	started bool
	broker  *jvmstack.Broker
	err     error
}

// NewSharedBroker returns a SharedBroker whose lifetime is parent's; opts
// adjust its configuration as for StartBroker. It starts nothing yet.
func NewSharedBroker(parent testing.TB, opts ...func(*jvmstack.BrokerConfig)) *SharedBroker {
	return &SharedBroker{parent: parent, opts: opts}
}

// Broker returns the shared broker, starting it on first use. A start that
// failed ends t and every later caller alike: a skip where java or mvn is
// missing outside CI, a failure otherwise. A broker that has exited fails
// them.
func (s *SharedBroker) Broker(t testing.TB) *jvmstack.Broker {
	t.Helper()
	lib := LibDir(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.broker, s.err = s.start(lib)
	}
	if s.err != nil {
		skipOrFail(t, fmt.Errorf("shared broker: %w", s.err))
	}
	select {
	case <-s.broker.Exited():
		t.Fatalf("jvmtest: shared broker exited; last output:\n%s", s.broker.Logs())
	default:
	}
	return s.broker
}

// start starts the broker in a directory of the parent test and registers
// its stop with the parent, after the directory's removal so that it runs
// first.
func (s *SharedBroker) start(lib string) (*jvmstack.Broker, error) {
	cfg := jvmstack.BrokerConfig{LibDir: lib, Dir: s.parent.TempDir()}
	for _, o := range s.opts {
		o(&cfg)
	}
	b, err := jvmstack.StartBroker(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	s.parent.Cleanup(func() {
		if err := b.Stop(); err != nil {
			s.parent.Errorf("jvmtest: shared broker: %v", err)
		}
	})
	return b, nil
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
