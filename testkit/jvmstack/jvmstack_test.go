package jvmstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack/jvmtest"
)

func TestFetchIsANoOpOnceFetched(t *testing.T) {
	lib := jvmtest.LibDir(t)
	jars, _ := filepath.Glob(filepath.Join(lib, "*.jar"))
	for _, want := range []string{"kafka_2.13-4.3.0.jar", "connect-runtime-4.3.0.jar",
		"debezium-connector-postgres-3.6.1.Final.jar", "debezium-connect-plugins-3.6.1.Final.jar", "log4j-slf4j-impl-"} {
		found := false
		for _, j := range jars {
			found = found || strings.HasPrefix(filepath.Base(j), want)
		}
		if !found {
			t.Errorf("no %s among the %d fetched jars", want, len(jars))
		}
	}
	// Fetched once, a second fetch needs neither Maven nor Java.
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
	again, err := jvmstack.Fetch(context.Background(), jvmstack.FetchConfig{})
	if err != nil || again != lib {
		t.Fatalf("second fetch = %q, %v; want %q without running mvn", again, err, lib)
	}
}

func TestFetchWithoutToolsSaysHowToInstallThem(t *testing.T) {
	jvmtest.LibDir(t) // the POM is found from here; this test skips where the others do
	t.Setenv("PATH", t.TempDir())
	t.Setenv("JAVA_HOME", "")
	_, err := jvmstack.Fetch(context.Background(), jvmstack.FetchConfig{CacheDir: t.TempDir()})
	if !errors.Is(err, jvmstack.ErrNoJava) {
		t.Fatalf("fetch without java = %v, want ErrNoJava", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "apt-get install -y openjdk-17-jdk-headless maven") || strings.Contains(msg, "\n") {
		t.Errorf("error %q is not one line naming the install command", msg)
	}
}

func TestBrokerAndConnect(t *testing.T) {
	broker := jvmtest.StartBroker(t)

	// Topics are auto-created with three partitions, and a record round-trips.
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr()), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics("jvmstack.roundtrip"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "jvmstack.roundtrip", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	topics, err := kadm.NewClient(cl).ListTopics(ctx, "jvmstack.roundtrip")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(topics["jvmstack.roundtrip"].Partitions); n != 3 {
		t.Errorf("auto-created topic has %d partitions, want 3", n)
	}
	got := cl.PollFetches(ctx)
	if err := got.Err0(); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if recs := got.Records(); len(recs) != 1 || string(recs[0].Value) != "v" {
		t.Fatalf("consumed %d records, want the one produced", len(recs))
	}

	connect := jvmtest.StartConnect(t, broker.Addr())
	var root struct {
		Version string `json:"version"`
	}
	getJSON(t, connect.URL()+"/", &root)
	if root.Version != "4.3.0" {
		t.Errorf("Connect version %q, want 4.3.0", root.Version)
	}
	var plugins []struct {
		Class string `json:"class"`
	}
	getJSON(t, connect.URL()+"/connector-plugins?connectorsOnly=false", &plugins)
	for _, want := range []string{
		"io.debezium.connector.postgresql.PostgresConnector",
		"io.debezium.transforms.outbox.EventRouter",
		"org.apache.kafka.connect.storage.StringConverter",
	} {
		found := false
		for _, p := range plugins {
			found = found || p.Class == want
		}
		if !found {
			t.Errorf("Connect does not list plugin %s", want)
		}
	}
	if !strings.Contains(connect.Logs(), "Kafka Connect started") {
		t.Errorf("Connect's log has no start line (is the SLF4J binding missing?); log:\n%s", connect.Logs())
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}
