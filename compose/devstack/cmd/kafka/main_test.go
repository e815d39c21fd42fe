package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
)

// buildBroker compiles this command once per test into a temp dir.
func buildBroker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kafka")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBroker runs the binary and waits for its "ready" log line.
func startBroker(t *testing.T, bin, addr, dataDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-addr", addr, "-data-dir", dataDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "kafka broker ready") {
				close(ready)
				for sc.Scan() {
				}
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("broker did not report ready within 30s")
	}
	return cmd
}

// TestKill9KeepsRecordsAndOffsets kills the broker with SIGKILL and expects
// topics, records and a group's committed offset back after a restart.
func TestKill9KeepsRecordsAndOffsets(t *testing.T) {
	bin := buildBroker(t)
	addr := freeAddr(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := startBroker(t, bin, addr, dataDir)

	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%3)), Value: []byte(fmt.Sprint(i))})
	}
	kafkatest.Produce(t, addr, "durable", recs...)

	cl := kafkatest.Client(t, addr, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("durable"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < 10 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) != 10 {
		t.Fatalf("consumed %d records before the crash, want 10", len(got))
	}
	if err := cl.CommitRecords(ctx, got...); err != nil {
		t.Fatal(err)
	}
	committed, err := kadm.NewClient(cl).FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	cl.Close()

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	startBroker(t, bin, addr, dataDir)

	after := kafkatest.Consume(t, addr, "durable", 10, 30*time.Second)
	if len(after) != 10 {
		t.Fatalf("records after kill -9 and restart = %d, want 10", len(after))
	}
	adm := kadm.NewClient(kafkatest.Client(t, addr))
	offs, err := adm.FetchOffsets(t.Context(), "g")
	if err != nil {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		now, ok := offs.Lookup(o.Topic, o.Partition)
		if !ok || now.At != o.At {
			t.Errorf("committed offset of %s/%d after restart = %+v (found %v), want %d", o.Topic, o.Partition, now.At, ok, o.At)
		}
	})

	// kcat (librdkafka) must be able to talk to it as well.
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-b", addr, "-L", "-m", "10").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `topic "durable" with 3 partitions`) {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("kcat not installed; .ci/run installs it")
	}
}
