package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/kafkabroker"
	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/libs/pgharness"
)

type benchConfig struct {
	events   int
	rate     int
	duration time.Duration
}

const topic = "outbox.event.bench"

func run(ctx context.Context, cfg benchConfig, out io.Writer) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "walrelay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(out, "building walrelay")
	relayBin := filepath.Join(work, "walrelay")
	build := exec.CommandContext(ctx, "go", "build", "-o", relayBin, "./connectors/walrelay/cmd/walrelay")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build walrelay: %w\n%s", err, b)
	}

	pg, err := pgharness.Start(ctx, pgharness.Config{Dir: filepath.Join(work, "pg")})
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "bench", ""); err != nil {
		return err
	}
	dsn := pg.DSN("bench")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	// One statement per Exec: a slot cannot be created in a transaction
	// that has written, and a multi-statement Exec is one transaction.
	for _, q := range []string{
		outbox.Schema,
		`CREATE PUBLICATION outbox_publication FOR TABLE outbox`,
		`SELECT pg_create_logical_replication_slot('baseline_slot', 'pgoutput')`,
		`SELECT pg_create_logical_replication_slot('relay_slot', 'pgoutput')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	broker, err := kafkabroker.Start(kafkabroker.Config{DataDir: filepath.Join(work, "kafka")})
	if err != nil {
		return err
	}
	defer broker.Close()

	// 1. Backlog.
	fmt.Fprintf(out, "filling a backlog of %d outbox inserts (one per transaction, 8 clients)\n", cfg.events)
	start := time.Now()
	if err := fill(ctx, pool, cfg.events); err != nil {
		return err
	}
	fmt.Fprintf(out, "  filled in %s (%.0f tx/s)\n", time.Since(start).Round(time.Millisecond), float64(cfg.events)/time.Since(start).Seconds())
	var endLSN string
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&endLSN); err != nil {
		return err
	}

	// 2. Baseline: pg_recvlogical to /dev/null.
	bindir, err := pgharness.FindBinDir()
	if err != nil {
		return err
	}
	recv := exec.CommandContext(ctx, filepath.Join(bindir, "pg_recvlogical"),
		"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=postgres dbname=bench", pg.Port()),
		"--slot", "baseline_slot", "--start", "--endpos", endLSN, "--no-loop",
		"-o", "proto_version=1", "-o", "publication_names=outbox_publication", "-f", "/dev/null")
	start = time.Now()
	if b, err := recv.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_recvlogical: %w\n%s", err, b)
	}
	baseline := time.Since(start)
	baseRate := float64(cfg.events) / baseline.Seconds()
	fmt.Fprintf(out, "pg_recvlogical (pgoutput -> /dev/null): %d events in %s = %.0f events/s\n", cfg.events, baseline.Round(time.Millisecond), baseRate)

	// 3. walrelay into the broker.
	restPort, err := freePort()
	if err != nil {
		return err
	}
	relay := exec.Command(relayBin)
	relay.Env = append(os.Environ(),
		"BOOTSTRAP_SERVERS="+broker.Addr(),
		"REST_HOST_NAME=127.0.0.1",
		"REST_PORT="+strconv.Itoa(restPort),
		"LOG_LEVEL=warn",
	)
	var relayLog bytes.Buffer
	relay.Stdout, relay.Stderr = &relayLog, &relayLog
	if err := relay.Start(); err != nil {
		return err
	}
	defer func() { _ = relay.Process.Kill(); _ = relay.Wait() }()
	restURL := fmt.Sprintf("http://127.0.0.1:%d", restPort)
	if err := waitHTTP(ctx, restURL+"/", 30*time.Second); err != nil {
		return fmt.Errorf("walrelay REST: %w\n%s", err, relayLog.String())
	}
	adm := kadm.NewClient(mustClient(broker.Addr()))
	defer adm.Close()

	// Create the topic first: a client that looked up a missing topic keeps
	// that answer for its metadata refresh interval, which would show up as
	// seconds of false delay in the measurement.
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	if err := waitTopicCount(ctx, adm, 0, time.Minute); err != nil {
		return err
	}
	start = time.Now()
	if err := register(ctx, restURL, pg.Port()); err != nil {
		return err
	}
	if err := waitTopicCount(ctx, adm, 1, time.Minute); err != nil {
		return fmt.Errorf("walrelay first record: %w\n%s", err, tail(relayLog.String(), 3000))
	}
	firstAt := time.Since(start)
	if err := waitTopicCount(ctx, adm, int64(cfg.events), 10*time.Minute); err != nil {
		return fmt.Errorf("walrelay drain: %w\n%s", err, tail(relayLog.String(), 3000))
	}
	drain := time.Since(start)
	relayRate := float64(cfg.events) / drain.Seconds()
	rss := peakRSS(relay.Process.Pid)
	fmt.Fprintf(out, "walrelay (pgoutput -> broker, acks=all):   %d events in %s = %.0f events/s\n", cfg.events, drain.Round(time.Millisecond), relayRate)
	fmt.Fprintf(out, "  (connector start to first record: %s; streaming after that: %.0f events/s)\n",
		firstAt.Round(time.Millisecond), float64(cfg.events)/(drain-firstAt).Seconds())
	fmt.Fprintf(out, "ratio walrelay / pg_recvlogical: %.2f (target >= 0.60)\n", relayRate/baseRate)
	fmt.Fprintf(out, "walrelay peak RSS: %.1f MB (target <= 64 MB)\n", float64(rss)/(1<<20))

	// 5. Steady-rate latency.
	p50, p99, n, err := latency(ctx, pool, broker.Addr(), cfg.rate, cfg.duration)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "commit-to-consume latency at %d inserts/s over %s (%d events): p50 %.1f ms, p99 %.1f ms (target p99 <= 20 ms)\n",
		cfg.rate, cfg.duration, n, ms(p50), ms(p99))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func insertOne(ctx context.Context, pool *pgxpool.Pool, aggID string) (string, error) {
	var id string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ev := outbox.Event{AggregateType: "bench", AggregateID: aggID, Type: "BenchEvent", Payload: []byte(`{"n": 1, "note": "a small payload"}`)}
		evs := []outbox.Event{ev}
		if err := outbox.Append(ctx, tx, evs...); err != nil {
			return err
		}
		id = evs[0].ID.String()
		return nil
	})
	return id, err
}

func fill(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := insertOne(ctx, pool, fmt.Sprintf("agg-%d-%d", w, i%64)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func register(ctx context.Context, restURL string, pgPort int) error {
	cfg := map[string]string{
		"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":                   "1",
		"database.hostname":           "127.0.0.1",
		"database.port":               strconv.Itoa(pgPort),
		"database.user":               "postgres",
		"database.password":           "postgres",
		"database.dbname":             "bench",
		"topic.prefix":                "bench",
		"plugin.name":                 "pgoutput",
		"slot.name":                   "relay_slot",
		"publication.name":            "outbox_publication",
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.outbox`,
		"snapshot.mode":               "no_data",
		"extended.headers.enabled":    "false",
		"key.converter":               "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":             "org.apache.kafka.connect.storage.StringConverter",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
		"transforms.outbox.table.fields.additional.placement": "type:header:eventType",
	}
	body, _ := json.Marshal(cfg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, restURL+"/connectors/bench/config", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("register connector: %s: %s", resp.Status, b)
	}
	return nil
}

func waitTopicCount(ctx context.Context, adm *kadm.Client, want int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			var sum int64
			ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
			if sum >= want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s did not reach %d records within %s", topic, want, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func latency(ctx context.Context, pool *pgxpool.Pool, brokerAddr string, rate int, d time.Duration) (p50, p99 time.Duration, n int, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return 0, 0, 0, err
	}
	defer cl.Close()
	// Make sure the consumer holds its end-of-topic position before inserting.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	cl.PollFetches(pctx)
	cancel()

	// Receive times and commit times are matched by event id afterwards: a
	// record may reach the consumer before the producer noted its commit.
	var mu sync.Mutex
	committed := map[string]time.Time{}
	received := map[string]time.Time{}
	total := int(float64(rate) * d.Seconds())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
		defer cancel()
		for {
			mu.Lock()
			finished := len(received) >= total
			mu.Unlock()
			if finished || cctx.Err() != nil {
				return
			}
			fs := cl.PollFetches(cctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == "id" {
						mu.Lock()
						received[string(h.Value)] = now
						mu.Unlock()
					}
				}
			})
		}
	}()

	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range total {
		<-tick.C
		// The commit time is taken after COMMIT returns, so the figure is
		// what a consumer observes after the writer's commit.
		id, err := insertOne(ctx, pool, fmt.Sprintf("lat-%d", i%64))
		if err != nil {
			return 0, 0, 0, err
		}
		mu.Lock()
		committed[id] = time.Now()
		mu.Unlock()
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for id, at := range committed {
		if got, ok := received[id]; ok {
			lat = append(lat, max(got.Sub(at), 0))
		}
	}
	if len(lat) == 0 {
		return 0, 0, 0, errors.New("no event of the latency phase reached the consumer")
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], len(lat), nil
}

func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mustClient(addr string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		panic(err)
	}
	return cl
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s", url, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run bench from inside the repository")
		}
		dir = parent
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
