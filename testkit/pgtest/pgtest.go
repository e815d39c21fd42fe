package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
)

var (
	mainCalled atomic.Bool
	once       sync.Once
	cluster    *pgcluster.Cluster
	startErr   error
	seq        atomic.Int64
)

// Main runs the tests of a package and stops the shared cluster afterwards.
// Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// Cluster returns the package's shared cluster, starting it on first use.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain so the cluster is stopped after the tests")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cluster, startErr = pgcluster.Start(ctx, pgcluster.Config{})
	})
	if startErr != nil {
		if errors.Is(startErr, pgcluster.ErrNoBinaries) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v", startErr)
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	return cluster
}

// NewDatabase creates a fresh, empty database for this test and returns its
// superuser DSN. The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Cluster(t)
	name := dbName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.CreateDatabase(ctx, name, ""); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c.DSN(name)
}

// dbName turns a test name into a unique, valid database name.
func dbName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("t_%s_%d", s, seq.Add(1))
}
