package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/outboxcdc/outboxcdc/testkit/kafkatest"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			want: config{Listen: "127.0.0.1:8083", Brokers: []string{"127.0.0.1:9092"}, ConfigTopic: "connect_configs",
				LogLevel: slog.LevelInfo, Worker: map[string]string{}, WorkerID: "127.0.0.1:8083"},
		},
		{
			name: "Debezium image environment",
			env: map[string]string{
				"BOOTSTRAP_SERVERS": "k1:9092, k2:9092", "REST_HOST_NAME": "0.0.0.0", "REST_PORT": "18083",
				"CONFIG_STORAGE_TOPIC": "my_configs", "KEY_CONVERTER": "org.apache.kafka.connect.storage.StringConverter",
				"VALUE_CONVERTER": "org.apache.kafka.connect.json.JsonConverter", "LOG_LEVEL": "WARN",
				"CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE": "false", "CONNECT_REST_ADVERTISED_HOST_NAME": "relay",
				"CONNECT_CONFIG_PROVIDERS": "env",
			},
			want: config{Listen: "0.0.0.0:18083", Brokers: []string{"k1:9092", "k2:9092"}, ConfigTopic: "my_configs",
				LogLevel: slog.LevelWarn, WorkerID: "relay:18083", Worker: map[string]string{
					"key.converter":                  "org.apache.kafka.connect.storage.StringConverter",
					"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
					"value.converter.schemas.enable": "false",
					"rest.advertised.host.name":      "relay",
					"config.providers":               "env",
				}},
		},
		{
			name: "flags win over the environment",
			args: []string{"-listen", "127.0.0.1:0", "-bootstrap-servers", "b:1", "-config-topic", "t", "-log-level", "debug"},
			env:  map[string]string{"BOOTSTRAP_SERVERS": "a:1", "REST_PORT": "1"},
			want: config{Listen: "127.0.0.1:0", Brokers: []string{"b:1"}, ConfigTopic: "t", LogLevel: slog.LevelDebug,
				Worker: map[string]string{}, WorkerID: "127.0.0.1:0"},
		},
		{
			name: "profiles from the environment",
			env:  map[string]string{"WALRELAY_PPROF": "true"},
			want: config{Listen: "127.0.0.1:8083", Brokers: []string{"127.0.0.1:9092"}, ConfigTopic: "connect_configs",
				LogLevel: slog.LevelInfo, Worker: map[string]string{}, WorkerID: "127.0.0.1:8083", Pprof: true},
		},
		{
			name: "profiles flag wins",
			args: []string{"-pprof=false"},
			env:  map[string]string{"WALRELAY_PPROF": "1"},
			want: config{Listen: "127.0.0.1:8083", Brokers: []string{"127.0.0.1:9092"}, ConfigTopic: "connect_configs",
				LogLevel: slog.LevelInfo, Worker: map[string]string{}, WorkerID: "127.0.0.1:8083"},
		},
		{
			name: "REST timeouts from the environment, flags win",
			args: []string{"-http-idle-timeout", "9s"},
			env:  map[string]string{"WALRELAY_HTTP_READ_HEADER_TIMEOUT": "1s", "WALRELAY_HTTP_WRITE_TIMEOUT": "3m", "WALRELAY_HTTP_IDLE_TIMEOUT": "1h"},
			want: config{Listen: "127.0.0.1:8083", Brokers: []string{"127.0.0.1:9092"}, ConfigTopic: "connect_configs",
				LogLevel: slog.LevelInfo, Worker: map[string]string{}, WorkerID: "127.0.0.1:8083",
				HTTPTimeouts: relay.HTTPTimeouts{ReadHeader: time.Second, Read: 30 * time.Second, Write: 3 * time.Minute, Idle: 9 * time.Second}},
		},
		{
			name: "allowed hosts from the environment",
			env:  map[string]string{"WALRELAY_ALLOWED_HOSTS": "db.internal, 10.0.0.5,"},
			want: config{Listen: "127.0.0.1:8083", Brokers: []string{"127.0.0.1:9092"}, ConfigTopic: "connect_configs",
				LogLevel: slog.LevelInfo, Worker: map[string]string{}, WorkerID: "127.0.0.1:8083",
				AllowedHosts: []string{"db.internal", "10.0.0.5"}},
		},
		{name: "bad REST timeout", env: map[string]string{"WALRELAY_HTTP_READ_TIMEOUT": "0s"}, wantErr: "WALRELAY_HTTP_READ_TIMEOUT"},
		{name: "bad profiles switch", env: map[string]string{"WALRELAY_PPROF": "sometimes"}, wantErr: "WALRELAY_PPROF"},
		{name: "bad listen address", args: []string{"-listen", "nope"}, wantErr: "listen address"},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "log level"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			var environ []string
			for k, v := range tt.env {
				environ = append(environ, k+"="+v)
			}
			got, err := loadConfig(tt.args, lookup, environ, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.ShutdownTimeout, tt.want.StartTimeout = 30*time.Second, 2*time.Minute
			if tt.want.HTTPTimeouts == (relay.HTTPTimeouts{}) {
				tt.want.HTTPTimeouts = relay.DefaultHTTPTimeouts
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("config\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestRun starts the program in-process against a real broker, waits for
// the REST API, reads / and /metrics, and shuts it down by cancelling its
// context as a signal would.
func TestRun(t *testing.T) {
	brokers := kafkatest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		env := map[string]string{"BOOTSTRAP_SERVERS": brokers}
		done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, pw, io.Discard)
		pw.Close()
	}()

	// The address is in the JSON log line "REST API listening".
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "REST API listening" {
				addr <- line["addr"].(string)
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("REST API did not come up")
	}

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, `"kafka_cluster_id":"outboxcdc-dev"`) {
		t.Fatalf("GET / = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("GET /metrics = %d", code)
	}
	if code, body := get("/connectors"); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("GET /connectors = %d %s", code, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	<-logDone
}
