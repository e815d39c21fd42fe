package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
)

var diffSeed = flag.Uint64("differential.seed", 0, "seed of TestDifferential's generated workload (0 means the fixed default)")

// defaultDiffSeed makes TestDifferential's workload the same on every run
// unless -differential.seed says otherwise.
const defaultDiffSeed = 0x5eed_0b0c

// maxPairsPerWave bounds the connector pairs that run at once: every pair
// holds two replication slots and the test cluster has 32.
const maxPairsPerWave = 14

// TestDifferential runs real Debezium (a Kafka Connect 4.3 worker with
// Debezium 3.6) and walrelay side by side against one database and one
// Kafka broker, and requires byte-identical records from both.
//
// Every group is one connector configuration registered twice through the
// Kafka Connect REST API: on the Connect worker (slot and publication
// deb_<group>, topics deb.<group>.*) and on walrelay (wal_<group>,
// wal.<group>.*); the two configs differ only in those names (the topic
// replacement, and where a group needs them the heartbeat topic prefix and
// the topic prefix of logical decoding messages). The group's tables then
// receive the same writes once, and every record of one side is paired
// with the record of the other side that has the same topic suffix and
// "id" header, and compared field by field: partition, key, value,
// headers (names, order, bytes, null against empty) and timestamp. A
// routed value the topic regex does not match keeps its raw value as the
// topic, which both sides share; such topics must hold every id twice, in
// two identical records.
//
// The groups (differential_groups_test.go) cover every golden case of
// testdata/debezium-golden.json, grouped by identical configuration, with
// a pair of its own for each case that must fail the task; Debezium's
// records of the golden cases are also checked against the file. Every
// group gets rows from a seeded generator (differential_gen_test.go),
// written by several connections at once (differential_run_test.go).
// Groups run in waves that fit the cluster's replication slots; the broker
// and the Connect worker are started once. Last, both sides must report a
// new task RUNNING only once its replication slot exists.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kafka, Kafka Connect and Debezium beside walrelay")
	}
	seed := *diffSeed
	if seed == 0 {
		seed = defaultDiffSeed
	}
	t.Logf("differential workload seed %d (rerun with -differential.seed=%d)", seed, seed)
	start := time.Now()

	lib := jvmtest.LibDir(t) // skips (outside CI) or fails here without java
	javaMajor := javaVersion(t)
	dsn := pgtest.NewDatabase(t)
	st := &diffStack{t: t, dsn: dsn, seed: seed, javaMajor: javaMajor}
	st.db = connectDB(t, dsn)
	for range writers {
		st.writerConns = append(st.writerConns, connectDB(t, dsn))
	}
	st.dbConf = dbConfig(t, dsn)

	// Records stamped from a timestamp column are years old: time-based
	// retention would delete them as soon as the broker checks.
	broker := jvmtest.StartBroker(t, func(c *jvmstack.BrokerConfig) {
		c.Overrides = map[string]string{"log.retention.ms": "-1"}
	})
	st.brokers = broker.Addr()

	// The worker needs a few seconds to start: meanwhile the tables are
	// created and the generator plans the workload.
	const pwEnv = "DIFF_DB_PASSWORD"
	pw := st.dbConf["database.password"]
	connectDone := make(chan error, 1)
	var connect *jvmstack.Connect
	connectDir := t.TempDir()
	go func() {
		c, err := jvmstack.StartConnect(context.Background(), jvmstack.ConnectConfig{
			LibDir: lib, Dir: connectDir, Bootstrap: st.brokers,
			Env: []string{pwEnv + "=" + pw},
		})
		connect = c
		connectDone <- err
	}()
	t.Cleanup(func() {
		if connect != nil {
			if t.Failed() {
				t.Logf("the Connect worker's last log lines:\n%s", connect.Logs())
			}
			if err := connect.Stop(); err != nil {
				t.Errorf("stop Connect: %v", err)
			}
		}
	})
	st.dbConf["database.password"] = "${env:" + pwEnv + "}"

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := relay.Start(t.Context(), relay.Config{
		Brokers:  []string{st.brokers},
		Listener: ln,
		// The worker settings the Connect worker has (converters, config
		// provider), and a config topic of its own.
		Worker:      workerConverterProps(jvmstack.WorkerProperties(st.brokers, 0, jvmstack.DefaultGroupID)),
		ConfigTopic: "walrelay_configs",
		LookupEnv: func(name string) (string, bool) {
			if name == pwEnv {
				return pw, true
			}
			return "", false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rl.Close(ctx); err != nil {
			t.Errorf("close relay: %v", err)
		}
	})
	st.walURL = rl.URL()

	groups := diffGroups(t)
	for _, g := range groups {
		st.createTables(g)
	}
	if err := <-connectDone; err != nil {
		t.Fatalf("start Connect: %v", err)
	}
	st.debURL = connect.URL()
	t.Logf("stack up after %s: broker %s, Connect %s, walrelay %s", time.Since(start).Round(time.Millisecond), st.brokers, st.debURL, st.walURL)

	var rows, records, golden int
	for i, wave := range waves(groups) {
		res := st.runWave(i+1, wave)
		rows += res.rows
		records += res.records
		golden += res.golden
	}
	t.Logf("compared %d records (from %d generated outbox rows and %d golden cases) in %s", records, rows, golden, time.Since(start).Round(time.Millisecond))
	if st.jdkDigits > 0 {
		t.Logf("%d fields differed only in number digits that Java %d prints and Java 19+ does not; they were tolerated", st.jdkDigits, javaMajor)
	}
	if rows < 5000 {
		t.Errorf("only %d generated outbox rows were compared, want at least 5000", rows)
	}
	st.checkRunningWaitsForSlot()
}

// checkRunningWaitsForSlot requires that neither side reports a task
// RUNNING while its replication slot is still being created: a row
// committed once a task is RUNNING must be captured. Creating a logical
// slot waits for every transaction holding an id; one is held open until
// both sides' slot creations wait on it.
func (st *diffStack) checkRunningWaitsForSlot() {
	t := st.t
	t.Helper()
	// A group of its own: Connect keeps a deleted connector's offsets, so
	// a name used before would resume from them.
	g := &diffGroup{name: "s01", about: "status while the slot is created", conf: map[string]string{}}
	g.tables = []*diffTable{{group: g, name: "s01_outbox", cols: outboxCols(genUUID, "uuid", "varchar(255)", genKey, "text", payloadGen("text", false, false))}}
	st.createTables(g)
	release := pgtest.HoldTransactionID(t, st.dsn)
	wave := []*diffGroup{g}
	st.register(wave)
	waitFor(t, 120*time.Second, "both slot creations to wait for the open transaction", func() bool {
		for _, sd := range st.sides() {
			waiting, err := pgtest.SlotCreationWaits(t.Context(), st.db, sd.name+"_"+g.name)
			if err != nil {
				t.Fatal(err)
			}
			if !waiting {
				return false
			}
		}
		return true
	})
	for _, sd := range st.sides() {
		name := sd.name + "-" + g.name
		state, trace, err := taskState(t.Context(), sd.url, name)
		if err != nil {
			t.Fatal(err)
		}
		if state == "RUNNING" || state == "FAILED" {
			t.Errorf("%s: task %s %s while its slot is being created", name, state, trace)
		}
	}
	release()
	st.waitStreamingAll(wave)
	st.unregister(wave)
}

// javaVersion is the major version of the java the JVM stack runs
// ($JAVA_HOME/bin/java, else java on PATH).
func javaVersion(t *testing.T) int {
	t.Helper()
	java := "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); fileExists(p) {
			java = p
		}
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -version: %v\n%s", java, err, out)
	}
	m := regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cannot read the java version from %q", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major == 1 {
		major, _ = strconv.Atoi(string(m[2]))
	}
	return major
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// workerConverterProps picks the worker properties walrelay honours from
// the Connect worker's.
func workerConverterProps(p map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		if strings.Contains(k, "converter") || strings.HasPrefix(k, "config.providers") {
			out[k] = v
		}
	}
	return out
}

// waves splits groups into runs that fit the replication slots, never
// putting two groups with the same topic.prefix in one wave (Debezium
// registers its metrics under the topic prefix, and a second connector
// with the same one waits for the first to go away).
func waves(groups []*diffGroup) [][]*diffGroup {
	var out [][]*diffGroup
	for _, g := range groups {
		placed := false
		for i := range out {
			if len(out[i]) >= maxPairsPerWave {
				continue
			}
			if slices.ContainsFunc(out[i], func(o *diffGroup) bool { return o.topicPrefix() == g.topicPrefix() }) {
				continue
			}
			out[i] = append(out[i], g)
			placed = true
			break
		}
		if !placed {
			out = append(out, []*diffGroup{g})
		}
	}
	return out
}

// diffStack is what every wave shares.
type diffStack struct {
	t    *testing.T
	dsn  string
	seed uint64
	db   *pgx.Conn
	// writerConns write the workload concurrently.
	writerConns []*pgx.Conn
	dbConf      map[string]string
	brokers     string
	debURL      string
	walURL      string
	// javaMajor is the Connect JVM's Java version; jdkDigits counts the
	// differences tolerated because of it (see report).
	javaMajor int
	jdkDigits int
}

// side is one of the two implementations.
type side struct {
	name string // "deb" or "wal": connector, slot and topic namespace
	url  string
}

func (st *diffStack) sides() []side {
	return []side{{"deb", st.debURL}, {"wal", st.walURL}}
}

// connectorConfig is the group's connector config for one side.
func (st *diffStack) connectorConfig(g *diffGroup, sd side) map[string]string {
	c := map[string]string{
		"connector.class":             "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max":                   "1",
		"plugin.name":                 "pgoutput",
		"topic.prefix":                g.name,
		"publication.autocreate.mode": "filtered",
		"table.include.list":          `public\.` + g.name + `_.*`,
		"snapshot.mode":               "no_data",
		"transforms":                  "outbox",
		"transforms.outbox.type":      "io.debezium.transforms.outbox.EventRouter",
	}
	maps.Copy(c, st.dbConf)
	maps.Copy(c, g.conf)
	if g.snapshot {
		c["snapshot.mode"] = "initial"
	}
	c["slot.name"] = sd.name + "_" + g.name
	c["publication.name"] = sd.name + "_" + g.name
	c["transforms.outbox.route.topic.replacement"] = sd.name + "." + g.name + "." + g.replacement()
	if g.heartbeat {
		c["topic.heartbeat.prefix"] = sd.name + "." + g.name + ".__debezium-heartbeat"
	}
	if g.sidePrefix {
		c["topic.prefix"] = sd.name + "." + g.name
	}
	return c
}

// createTables creates the group's tables (outside any wave: Debezium's
// filtered publication lists the tables that exist when it starts).
func (st *diffStack) createTables(g *diffGroup) {
	st.t.Helper()
	for _, tb := range g.tables {
		mustExec(st.t, st.db, tb.ddl())
		if tb.replicaFull {
			mustExec(st.t, st.db, fmt.Sprintf("ALTER TABLE %s REPLICA IDENTITY FULL", tb.name))
		}
	}
}

// restCall does one Kafka Connect REST call and returns the status and
// the body.
func restCall(ctx context.Context, method, u string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// register PUTs every group's config on both sides at once. The wave's
// connectors and slots are removed when the test ends if the wave does not
// get to remove them itself.
func (st *diffStack) register(wave []*diffGroup) {
	t := st.t
	t.Helper()
	t.Cleanup(func() { st.unregister(wave) })
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for _, g := range wave {
		for _, sd := range st.sides() {
			wg.Go(func() {
				name := sd.name + "-" + g.name
				code, body, err := restCall(context.Background(), "PUT", sd.url+"/connectors/"+name+"/config", st.connectorConfig(g, sd))
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("HTTP %d: %s", code, body)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("PUT %s: %v", name, err))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		slices.Sort(errs)
		t.Fatalf("registering connectors:\n%s", strings.Join(errs, "\n"))
	}
}

// taskState returns the state and trace of a connector's task ("" when it
// has none yet, or Connect has no status for it yet).
func taskState(ctx context.Context, base, name string) (state, trace string, err error) {
	code, body, err := restCall(ctx, "GET", base+"/connectors/"+name+"/status", nil)
	if err != nil {
		return "", "", err
	}
	if code == http.StatusNotFound {
		return "", "", nil // registered, status not written yet
	}
	if code != http.StatusOK {
		return "", "", fmt.Errorf("status of %s: HTTP %d %s", name, code, body)
	}
	var s connectorStatus
	if err := json.Unmarshal(body, &s); err != nil {
		return "", "", err
	}
	if s.Connector.State == "FAILED" {
		return "FAILED", s.Connector.Trace, nil
	}
	if len(s.Tasks) == 0 {
		return "", "", nil
	}
	return s.Tasks[0].State, s.Tasks[0].Trace, nil
}

// waitStreamingAll waits until every connector's task is RUNNING and its
// slot is being streamed.
func (st *diffStack) waitStreamingAll(wave []*diffGroup) {
	t := st.t
	t.Helper()
	pending := map[string]side{}
	for _, g := range wave {
		for _, sd := range st.sides() {
			pending[sd.name+"_"+g.name] = sd
		}
	}
	deadline := time.NewTimer(120 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		for slot, sd := range pending {
			name := strings.Replace(slot, "_", "-", 1)
			state, trace, err := taskState(t.Context(), sd.url, name)
			if err != nil {
				t.Fatal(err)
			}
			if state == "FAILED" {
				t.Fatalf("connector %s failed before any write:\n%s", name, trace)
			}
			if state != "RUNNING" {
				continue
			}
			var active bool
			err = st.db.QueryRow(t.Context(), `SELECT active AND confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
			if err == nil && active {
				delete(pending, slot)
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-deadline.C:
			t.Fatalf("connectors not streaming after 120s: %v", slices.Sorted(maps.Keys(pending)))
		case <-tick.C:
		}
	}
}

// unregister deletes the wave's connectors and drops their slots, so the
// next wave has the slots free. Connectors already deleted are skipped.
func (st *diffStack) unregister(wave []*diffGroup) {
	t := st.t
	t.Helper()
	var wg sync.WaitGroup
	for _, g := range wave {
		for _, sd := range st.sides() {
			wg.Go(func() {
				name := sd.name + "-" + g.name
				code, body, err := restCall(context.Background(), "DELETE", sd.url+"/connectors/"+name, nil)
				switch {
				case err == nil && code == http.StatusNotFound:
					return
				case err != nil || code != http.StatusNoContent:
					t.Errorf("DELETE %s: HTTP %d %s %v", name, code, body, err)
					return
				}
				dropSlot(t, st.dsn, sd.name+"_"+g.name)
			})
		}
	}
	wg.Wait()
}
