package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

// relayProc is the walrelay binary running as a child process.
type relayProc struct {
	cmd  *exec.Cmd
	out  *servicetest.LogBuffer
	base string
	done chan error
}

func buildRelay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "walrelay")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/outboxcdc/outboxcdc/connectors/walrelay/cmd/walrelay")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startRelay(t *testing.T, bin, brokers string, port int) *relayProc {
	t.Helper()
	p := &relayProc{out: &servicetest.LogBuffer{}, base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(),
		"BOOTSTRAP_SERVERS="+brokers,
		"REST_HOST_NAME=127.0.0.1",
		"REST_PORT="+strconv.Itoa(port),
		"LOG_LEVEL=info",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("relay output:\n%s", p.out.String())
		}
	})
	waitFor(t, 60*time.Second, "the relay's REST API", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("relay exited: %v\n%s", err, p.out.String())
		default:
		}
		resp, err := http.Get(p.base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// stop sends sig and waits for the process to exit.
func (p *relayProc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("relay did not exit after %v", sig)
		return nil
	}
}

func topicCount(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(t.Context(), topic)
	if err != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n
}

// TestCrashSafety kills the relay with SIGKILL while it streams, restarts
// it, and checks that every event arrives (duplicates allowed) with each
// key's events in order. Then a SIGTERM shutdown exits cleanly, the
// connector survives another restart, and DELETE keeps the slot.
func TestCrashSafety(t *testing.T) {
	const n, keys = 10000, 8
	bin := buildRelay(t)
	dsn := pgtest.NewDatabase(t)
	db := connectDB(t, dsn)
	mustExec(t, db, outbox.Schema)
	brokers := kafkatest.Start(t)
	// Fresh metadata on every count: the topic appears only with the first record.
	adm := kadm.NewClient(kafkatest.Client(t, brokers, kgo.MetadataMinAge(10*time.Millisecond)))
	port := freePort(t)
	const topic = "outbox.event.order"

	relay := startRelay(t, bin, brokers, port)
	config := outboxConfig(t, dsn, "crash")
	if code := call(t, "PUT", relay.base+"/connectors/crash/config", config, nil); code != 201 {
		t.Fatalf("PUT: HTTP %d", code)
	}
	waitStreaming(t, relay.base, "crash", db, "crash")

	// One transaction per event, keys round-robin, a sequence per key.
	writer := connectDB(t, dsn)
	writeErr := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := range n {
			k := i % keys
			_, err := writer.Exec(ctx,
				`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', $1, 'Seq', $2)`,
				fmt.Sprintf("k%d", k), fmt.Sprintf(`{"seq": %d}`, i/keys))
			if err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()

	waitFor(t, 60*time.Second, "some events on the topic", func() bool { return topicCount(t, adm, topic) >= 500 })
	if err := relay.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-relay.done
	atKill := topicCount(t, adm, topic)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if atKill >= n {
		t.Fatalf("all %d events were on the topic before the kill; the test proved nothing", atKill)
	}
	t.Logf("killed the relay with %d of %d events on the topic", atKill, n)

	relay = startRelay(t, bin, brokers, port)
	type ev struct{ key, seq string }
	distinct := map[ev]bool{}
	recs, err := kafkatest.ConsumeUntil(brokers, topic, 90*time.Second, func(rs []*kgo.Record) bool {
		clear(distinct)
		for _, r := range rs {
			var p struct{ Seq int }
			if json.Unmarshal(r.Value, &p) == nil {
				distinct[ev{string(r.Key), strconv.Itoa(p.Seq)}] = true
			}
		}
		return len(distinct) >= n
	})
	if err != nil {
		t.Fatalf("after restart: %d distinct of %d events: %v", len(distinct), n, err)
	}
	// Per key, first occurrences come in sequence order.
	next := map[string]int{}
	seen := map[ev]bool{}
	for _, r := range recs {
		var p struct{ Seq int }
		if err := json.Unmarshal(r.Value, &p); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		e := ev{string(r.Key), strconv.Itoa(p.Seq)}
		if seen[e] {
			continue
		}
		seen[e] = true
		if p.Seq != next[e.key] {
			t.Fatalf("key %s: event %d arrived before %d", e.key, p.Seq, next[e.key])
		}
		next[e.key]++
	}
	t.Logf("%d records for %d events (%d duplicates)", len(recs), n, len(recs)-n)

	// SIGTERM: clean exit after flushing and confirming.
	if err := relay.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, relay.out.String())
	}
	waitFor(t, 30*time.Second, "the walsender to release the slot", func() bool {
		var active bool
		err := db.QueryRow(t.Context(), `SELECT active FROM pg_replication_slots WHERE slot_name = 'crash'`).Scan(&active)
		return err == nil && !active
	})
	afterStop := topicCount(t, adm, topic)

	// The connector is still registered after a restart, and nothing
	// acknowledged before the graceful stop is sent again: the first
	// record after the restart is a new marker event.
	relay = startRelay(t, bin, brokers, port)
	var names []string
	if code := call(t, "GET", relay.base+"/connectors", nil, &names); code != 200 || len(names) != 1 || names[0] != "crash" {
		t.Fatalf("connectors after restart: HTTP %d %v", code, names)
	}
	waitStreaming(t, relay.base, "crash", db, "crash")
	mustExec(t, db, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (gen_random_uuid(), 'order', 'marker', 'Marker', '{"seq": -1}')`)
	if _, err := kafkatest.ConsumeUntil(brokers, topic, 30*time.Second, func(rs []*kgo.Record) bool {
		return hasKey(rs, "marker")
	}); err != nil {
		t.Fatalf("marker: %v", err)
	}
	if got := topicCount(t, adm, topic); got != afterStop+1 {
		t.Fatalf("%d records after a graceful restart and one new event, want %d", got, afterStop+1)
	}

	// DELETE stops the connector and keeps its slot.
	if code := call(t, "DELETE", relay.base+"/connectors/crash", nil, nil); code != 204 {
		t.Fatalf("DELETE: HTTP %d", code)
	}
	waitFor(t, 30*time.Second, "the slot to be released and kept", func() bool {
		var active bool
		err := db.QueryRow(t.Context(), `SELECT active FROM pg_replication_slots WHERE slot_name = 'crash'`).Scan(&active)
		return err == nil && !active
	})
	if err := relay.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func hasKey(rs []*kgo.Record, key string) bool {
	for _, r := range rs {
		if string(r.Key) == key {
			return true
		}
	}
	return false
}

// TestCrashDuringSnapshot kills the relay while it reads an initial
// snapshot: after a restart every existing row still arrives.
func TestCrashDuringSnapshot(t *testing.T) {
	const n = 50000
	bin := buildRelay(t)
	dsn := pgtest.NewDatabase(t)
	db := connectDB(t, dsn)
	mustExec(t, db, outbox.Schema)
	mustExec(t, db, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload)
		SELECT gen_random_uuid(), 'order', 'k' || (g % 16), 'Seq', jsonb_build_object('seq', g) FROM generate_series(1, $1) g`, n)
	brokers := kafkatest.Start(t)
	adm := kadm.NewClient(kafkatest.Client(t, brokers, kgo.MetadataMinAge(10*time.Millisecond)))
	port := freePort(t)
	const topic = "outbox.event.order"

	relay := startRelay(t, bin, brokers, port)
	config := outboxConfig(t, dsn, "snap", "snapshot.mode", "initial")
	if code := call(t, "PUT", relay.base+"/connectors/snap/config", config, nil); code != 201 {
		t.Fatalf("PUT: HTTP %d", code)
	}
	waitFor(t, 60*time.Second, "snapshot rows on the topic", func() bool { return topicCount(t, adm, topic) >= 500 })
	if err := relay.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-relay.done
	if atKill := topicCount(t, adm, topic); atKill >= n {
		t.Fatalf("the whole snapshot was on the topic before the kill; the test proved nothing")
	} else {
		t.Logf("killed the relay with %d of %d snapshot rows on the topic", atKill, n)
	}

	startRelay(t, bin, brokers, port)
	distinct := map[string]bool{}
	if _, err := kafkatest.ConsumeUntil(brokers, topic, 90*time.Second, func(rs []*kgo.Record) bool {
		clear(distinct)
		for _, r := range rs {
			distinct[string(r.Value)] = true
		}
		return len(distinct) >= n
	}); err != nil {
		t.Fatalf("after restart: %d of %d rows: %v", len(distinct), n, err)
	}
}
