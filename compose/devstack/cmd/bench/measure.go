package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
)

// latencyResult is one latency phase.
type latencyResult struct {
	p50, p99 time.Duration
	// received counts the phase's events the listener saw, inserted the
	// events committed.
	received, inserted int
	// rate is the insert rate achieved, per second.
	rate float64
}

// A listener receives outbox events downstream of the WAL. It is
// connected when constructed, so events committed afterwards carry no set-up
// delay.
type listener interface {
	// listen reports the id of each event received, with the time of
	// receipt, until ctx ends.
	listen(ctx context.Context, seen func(id string, at time.Time)) error
}

// measureLatency commits rate events per second for d, one per
// transaction, and returns commit-to-receive percentiles over the events l
// received. The commit time is taken after COMMIT returns, so the figure is
// what a reader observes after the writer's commit. Inserts are paced by
// schedule: one that returns late does not shorten the phase's total.
func measureLatency(ctx context.Context, pool *pgxpool.Pool, rate int, d time.Duration, l listener) (latencyResult, error) {
	total := max(int(float64(rate)*d.Seconds()), 1)
	var mu sync.Mutex
	committed := make(map[string]time.Time, total)
	received := make(map[string]time.Time, total)
	all := make(chan struct{})
	// Receive and commit times are matched by event id afterwards: a
	// record may reach the listener before its commit time is noted.
	seen := func(id string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := received[id]; dup {
			return
		}
		received[id] = at
		if len(received) == total {
			close(all)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listened := make(chan error, 1)
	go func() { listened <- l.listen(lctx, seen) }()
	stopListening := func() error {
		cancel()
		return <-listened
	}

	interval := time.Second / time.Duration(rate)
	timer := time.NewTimer(0)
	<-timer.C
	start := time.Now()
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				_ = stopListening()
				return latencyResult{}, ctx.Err()
			case <-timer.C:
			}
		}
		id, err := insertOne(ctx, pool, fmt.Sprintf("lat-%d", i%64))
		if err != nil {
			_ = stopListening()
			return latencyResult{}, fmt.Errorf("insert: %w", err)
		}
		at := time.Now()
		mu.Lock()
		committed[id] = at
		mu.Unlock()
	}
	elapsed := time.Since(start)

	// Stragglers get 30 s after the last commit.
	var listenErr error
	select {
	case <-all:
		listenErr = stopListening()
	case listenErr = <-listened:
		if listenErr == nil {
			listenErr = errors.New("listener stopped early")
		}
	case <-time.After(30 * time.Second):
		listenErr = stopListening()
	case <-ctx.Done():
		_ = stopListening()
		return latencyResult{}, ctx.Err()
	}
	if listenErr != nil {
		return latencyResult{}, listenErr
	}

	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for id, at := range committed {
		if got, ok := received[id]; ok {
			lat = append(lat, max(got.Sub(at), 0))
		}
	}
	if len(lat) == 0 {
		return latencyResult{}, errors.New("no event of the latency phase was received")
	}
	slices.Sort(lat)
	return latencyResult{
		p50: lat[len(lat)/2], p99: lat[len(lat)*99/100],
		received: len(lat), inserted: total, rate: float64(total) / elapsed.Seconds(),
	}, nil
}

// kafkaListener consumes one topic from given offsets.
type kafkaListener struct{ cl *kgo.Client }

// newKafkaListener consumes every partition of topic from the offsets in
// from, and returns once the client is connected and fetching.
func newKafkaListener(ctx context.Context, addr, topic string, from kadm.ListedOffsets) (*kafkaListener, error) {
	parts := map[int32]kgo.Offset{}
	from.Each(func(o kadm.ListedOffset) { parts[o.Partition] = kgo.NewOffset().At(o.Offset) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	// Nothing follows the offsets yet, so this poll waits its full second
	// while the client connects and starts its long-poll fetches.
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	fs := cl.PollFetches(wctx)
	cancel()
	if n := fs.NumRecords(); n > 0 {
		cl.Close()
		return nil, fmt.Errorf("consumer: %d records arrived on %s before the latency phase", n, topic)
	}
	return &kafkaListener{cl: cl}, nil
}

func (l *kafkaListener) listen(ctx context.Context, seen func(string, time.Time)) error {
	for {
		fs := l.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "id" {
					seen(string(h.Value), now)
				}
			}
		})
	}
}

func (l *kafkaListener) close() { l.cl.Close() }

// recvLogical is pg_recvlogical streaming a slot's pgoutput messages to a
// pipe; events are recognised by their id, the only UUID in an outbox row.
type recvLogical struct {
	cmd    *exec.Cmd
	out    *os.File
	errs   *jvmstack.Tail
	exited chan struct{}

	once    sync.Once
	cpu     float64
	rss     int64
	stopErr error
}

var uuidText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// startRecvLogical starts pg_recvlogical on slot and returns once the slot
// is active, that is once the walsender streams to it.
func startRecvLogical(ctx context.Context, pool *pgxpool.Pool, bin, conn, slot string) (*recvLogical, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pg_recvlogical: %w", err)
	}
	r := &recvLogical{out: pr, errs: jvmstack.NewTail(8 << 10), exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "-d", conn, "--slot", slot, "--start",
		"-o", "proto_version=1", "-o", "publication_names="+publication, "-f", "-")
	r.cmd.Stdout, r.cmd.Stderr = pw, r.errs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	err = r.cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("start pg_recvlogical: %w", err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		err := pool.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		if err == nil && active {
			return r, nil
		}
		if err == nil && time.Now().After(deadline) {
			err = fmt.Errorf("slot %s not active after 30s", slot)
		}
		if err == nil {
			select {
			case <-r.exited:
				err = errors.New("exited")
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(20 * time.Millisecond):
				continue
			}
		}
		_, _, _ = r.stop()
		pr.Close()
		return nil, fmt.Errorf("pg_recvlogical: %w\n%s", err, r.errs.String())
	}
}

func (r *recvLogical) listen(ctx context.Context, seen func(string, time.Time)) error {
	scanned := make(chan error, 1)
	go func() {
		// pg_recvlogical ends every message with a newline; the binary
		// message may hold more, but never inside the id's text.
		sc := bufio.NewScanner(r.out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			now := time.Now()
			for _, id := range uuidText.FindAll(sc.Bytes(), -1) {
				seen(string(id), now)
			}
		}
		scanned <- sc.Err()
	}()
	defer r.out.Close()
	select {
	case <-ctx.Done():
		// The process's exit closes the pipe's last writer: the scan ends.
		_, _, _ = r.stop()
		<-scanned
		return nil
	case err := <-scanned:
		return fmt.Errorf("pg_recvlogical output ended (%v):\n%s", err, r.errs.String())
	}
}

// stop ends pg_recvlogical (SIGINT, then SIGKILL after 10 s) and returns
// its CPU seconds and peak RSS.
func (r *recvLogical) stop() (cpu float64, rss int64, err error) {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
			r.stopErr = errors.New("pg_recvlogical did not stop within 10s of SIGINT; killed")
		}
		r.cpu, r.rss = rusage(r.cmd.ProcessState)
	})
	return r.cpu, r.rss, r.stopErr
}

// peakRSS is a running process's peak resident set size (VmHWM) in bytes,
// 0 when unknown.
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

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// jarVersion is the version in the name of the jar in lib starting with
// prefix, "?" when there is none.
func jarVersion(lib, prefix string) string {
	jars, _ := filepath.Glob(filepath.Join(lib, prefix+"*.jar"))
	for _, j := range jars {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(j), prefix), ".jar")
		if v != "" && v[0] >= '0' && v[0] <= '9' {
			return v
		}
	}
	return "?"
}

// javaVersion is the first line java -version prints.
func javaVersion() string {
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); fileExists(p) {
			java = p
		}
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "java ?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
