package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/proccpu"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
)

// routeKey is the Outbox Event Router setting that names the topic; each
// relay gets its own prefix on it, so their records never share a topic.
const routeKey = "transforms.outbox.route.topic.replacement"

// connectorFile is the connector JSON both relays are registered with, as
// in every stack.
var connectorFile = filepath.Join("connectors", "debezium", "orders.json")

// connectorOverrides names the keys of connectorFile that the bench sets
// per relay; every other setting is the file's, plus any given with -set.
var connectorOverrides = []string{"database.dbname", "publication.name", "slot.name", "topic.prefix", routeKey}

// relayProc is a running relay worker: walrelay or a Kafka Connect worker.
type relayProc struct {
	pid  int
	url  string
	logs func() string
	stop func() error
}

// cdcEnv is what ${env:...} in the connector JSON resolves to.
func (b *bench) cdcEnv() []string {
	return []string{
		"CDC_DB_HOST=127.0.0.1",
		"CDC_DB_PORT=" + strconv.Itoa(b.pgPort),
		"CDC_DB_USER=postgres",
		"CDC_DB_PASSWORD=postgres",
	}
}

// runWalrelay measures walrelay as its own process, configured the way
// the devstack runs it.
func (b *bench) runWalrelay(ctx context.Context, bin string) (result, error) {
	return b.benchRelay(ctx, "walrelay", "walrelay", walrelaySlot, func(ctx context.Context) (*relayProc, error) {
		port, err := jvmstack.FreePort()
		if err != nil {
			return nil, err
		}
		logs := jvmstack.NewTail(16 << 10)
		cmd := exec.Command(bin)
		cmd.Env = append(append(os.Environ(),
			"BOOTSTRAP_SERVERS="+b.broker.addr,
			"REST_HOST_NAME=127.0.0.1",
			"REST_PORT="+strconv.Itoa(port),
			// Its own config topic: a Connect worker on the same broker
			// must never pick up walrelay's connector, nor the reverse.
			"CONFIG_STORAGE_TOPIC=bench-walrelay-configs",
			"CONNECT_CONFIG_PROVIDERS=env",
			"CONNECT_CONFIG_PROVIDERS_ENV_CLASS=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
			"KEY_CONVERTER=org.apache.kafka.connect.storage.StringConverter",
			"VALUE_CONVERTER=org.apache.kafka.connect.storage.StringConverter",
			"LOG_LEVEL=warn",
		), b.cdcEnv()...)
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start walrelay: %w", err)
		}
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		stop := func() error {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
				return nil
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				return fmt.Errorf("walrelay did not stop within 30s of SIGTERM; killed")
			}
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := waitHTTP(ctx, url+"/", 30*time.Second, exited); err != nil {
			_ = stop()
			return nil, fmt.Errorf("walrelay REST API: %w\n%s", err, logs.String())
		}
		return &relayProc{pid: cmd.Process.Pid, url: url, logs: logs.String, stop: stop}, nil
	})
}

// runDebezium measures Debezium's PostgreSQL connector on a Kafka Connect
// worker of its own, started after walrelay has stopped.
func (b *bench) runDebezium(ctx context.Context, lib string) (result, error) {
	return b.benchRelay(ctx, "Debezium", "debezium", debeziumSlot, func(ctx context.Context) (*relayProc, error) {
		c, err := jvmstack.StartConnect(ctx, jvmstack.ConnectConfig{
			LibDir: lib, Dir: filepath.Join(b.work, "connect"), Bootstrap: b.broker.addr, Env: b.cdcEnv(),
		})
		if err != nil {
			return nil, fmt.Errorf("start Kafka Connect: %w", err)
		}
		return &relayProc{pid: c.Pid(), url: c.URL(), logs: c.Logs, stop: c.Stop}, nil
	})
}

// benchRelay starts a relay, registers the connector on slot with topics
// under ns, and measures: time to first record and to the whole backlog
// counted on the broker, CPU over that drain, then latency at the steady
// rate once the relay has caught up with everything inserted so far, and
// the process's peak RSS and total CPU at the end. The relay is stopped
// before it returns.
func (b *bench) benchRelay(ctx context.Context, name, ns, slot string, start func(context.Context) (*relayProc, error)) (result, error) {
	r := result{name: name, events: b.cfg.events}
	cfg, topic, err := b.connectorConfig(ns, slot)
	if err != nil {
		return r, err
	}
	// Create the topic first: a producer that looked up a missing topic
	// keeps that answer for its metadata refresh interval, which would
	// show up as seconds of false delay in the measurement.
	if err := b.createTopic(ctx, topic); err != nil {
		return r, err
	}

	b.log.Info("starting relay", "relay", name)
	t0 := time.Now()
	p, err := start(ctx)
	if err != nil {
		return r, err
	}
	r.ready = time.Since(t0)
	defer func() {
		if err := p.stop(); err != nil {
			b.log.Warn("stopping relay", "relay", name, "err", err)
		}
	}()
	fail := func(what string, err error) error {
		return fmt.Errorf("%s %s: %w\nlast output:\n%s", name, what, err, tail(p.logs(), 3000))
	}

	connector := "bench-" + ns
	health := connectorHealth(p.url, connector)
	cpu0, err := proccpu.CPU(p.pid)
	if err != nil {
		return r, err
	}
	bcpu0 := b.brokerCPU()
	b.log.Info("registering connector; draining the backlog", "relay", name, "connector", connector, "topic", topic, "events", b.cfg.events)
	t0 = time.Now()
	if err := putConnector(ctx, p.url, connector, cfg); err != nil {
		return r, fail("register", err)
	}
	if err := b.waitRecords(ctx, topic, 1, 5*time.Minute, health); err != nil {
		return r, fail("first record", err)
	}
	r.first = time.Since(t0)
	if err := b.waitRecords(ctx, topic, int64(b.cfg.events), 30*time.Minute, health); err != nil {
		return r, fail("drain", err)
	}
	r.drain = time.Since(t0)
	cpu1, err := proccpu.CPU(p.pid)
	if err != nil {
		return r, err
	}
	r.cpuDrain = cpu1 - cpu0
	r.brokerCPU = -1
	if bcpu0 >= 0 {
		r.brokerCPU = b.brokerCPU() - bcpu0
	}
	b.log.Info("backlog drained", "relay", name, "took", r.drain.Round(time.Millisecond))

	// Events inserted while an earlier reader was measured follow the
	// backlog in this slot: wait for them, so the latency phase starts
	// with nothing queued.
	if err := b.waitRecords(ctx, topic, int64(b.inserted), 10*time.Minute, health); err != nil {
		return r, fail("catch-up", err)
	}
	ends, err := b.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return r, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	l, err := newKafkaListener(ctx, b.broker.addr, topic, ends)
	if err != nil {
		return r, err
	}
	b.log.Info("measuring latency", "relay", name, "rate", b.cfg.rate, "duration", b.cfg.duration)
	r.lat, err = measureLatency(ctx, b.pool, b.cfg.rate, b.cfg.duration, l)
	l.close()
	b.inserted += r.lat.inserted
	if err != nil {
		return r, fail("latency", err)
	}
	if err := health(ctx); err != nil {
		return r, fail("after the latency phase", err)
	}
	r.rss = peakRSS(p.pid)
	if r.cpuTotal, err = proccpu.CPU(p.pid); err != nil {
		return r, err
	}
	return r, nil
}

// connectorConfig is connectorFile with the -set settings added and the
// per-relay keys of connectorOverrides set, and the topic its records go
// to.
func (b *bench) connectorConfig(ns, slot string) (map[string]string, string, error) {
	path := filepath.Join(b.root, connectorFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("connector config: %w", err)
	}
	var cfg map[string]string
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, "", fmt.Errorf("connector config %s: %w", path, err)
	}
	for _, kv := range b.cfg.set {
		cfg[kv[0]] = kv[1]
	}
	route := cfg[routeKey]
	if !strings.Contains(route, "${routedByValue}") {
		return nil, "", fmt.Errorf("connector config %s: %s %q does not route by ${routedByValue}", path, routeKey, route)
	}
	cfg["database.dbname"] = "bench"
	cfg["publication.name"] = publication
	cfg["slot.name"] = slot
	cfg["topic.prefix"] = "bench_" + ns
	cfg[routeKey] = ns + "." + route
	return cfg, strings.ReplaceAll(cfg[routeKey], "${routedByValue}", aggregateType), nil
}

// createTopic creates topic with three partitions (as every stack's
// topics have) and returns once the broker lists its end offsets.
func (b *bench) createTopic(ctx context.Context, topic string) error {
	resp, err := b.adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return b.waitRecords(ctx, topic, 0, time.Minute, nil)
}

// brokerCPU is the broker process's CPU seconds so far, -1 when the broker
// runs inside this process.
func (b *bench) brokerCPU() float64 {
	if b.broker.pid == 0 {
		return -1
	}
	cpu, err := proccpu.CPU(b.broker.pid)
	if err != nil {
		return -1
	}
	return cpu
}

// waitRecords returns once the broker's end offsets of topic sum to at
// least want: records the broker has acknowledged. health, when set, is
// asked every second and ends the wait with its error.
func (b *bench) waitRecords(ctx context.Context, topic string, want int64, within time.Duration, health func(context.Context) error) error {
	deadline := time.Now().Add(within)
	nextHealth := time.Now().Add(time.Second)
	var have int64 = -1
	for {
		ends, err := b.adm.ListEndOffsets(ctx, topic)
		if err == nil && ends.Error() == nil && len(ends[topic]) > 0 {
			have = 0
			ends.Each(func(o kadm.ListedOffset) { have += o.Offset })
			if have >= want {
				return nil
			}
		}
		if health != nil && time.Now().After(nextHealth) {
			if err := health(ctx); err != nil {
				return err
			}
			nextHealth = time.Now().Add(time.Second)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s holds %d records, not %d, after %s", topic, have, want, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// putConnector creates or updates connector name with cfg through the Kafka
// Connect REST API.
func putConnector(ctx context.Context, url, name string, cfg map[string]string) error {
	body, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("connector config: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url+"/connectors/"+name+"/config", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("register connector: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("register connector: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("register connector: %s: %s", resp.Status, b)
	}
	return nil
}

// connectorHealth returns a check that fails when the connector or its
// task is FAILED, with the trace the worker reports. A connector the
// worker does not know yet passes.
func connectorHealth(url, name string) func(context.Context) error {
	type state struct {
		State string `json:"state"`
		Trace string `json:"trace"`
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/connectors/"+name+"/status", nil)
		if err != nil {
			return fmt.Errorf("connector status: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil // a busy worker; the record count decides
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		var st struct {
			Connector state   `json:"connector"`
			Tasks     []state `json:"tasks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return nil
		}
		for _, s := range append([]state{st.Connector}, st.Tasks...) {
			if s.State == "FAILED" {
				return fmt.Errorf("connector %s FAILED: %s", name, tail(s.Trace, 2000))
			}
		}
		return nil
	}
}

// waitHTTP returns once url answers 200, or fails when exited closes first.
func waitHTTP(ctx context.Context, url string, within time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(within)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		resp, err := http.DefaultClient.Do(req)
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
		case <-exited:
			return fmt.Errorf("process exited before %s answered", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
