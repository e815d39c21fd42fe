package jvmstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ConnectConfig says how to run a Kafka Connect distributed worker.
type ConnectConfig struct {
	// LibDir holds the jars (from Fetch). Required.
	LibDir string
	// Dir holds worker.properties and connect.log. Required.
	Dir string
	// Bootstrap is the broker address. Required.
	Bootstrap string
	// Port of the REST API on 127.0.0.1; 0 picks a free one.
	Port int
	// GroupID, and the storage topics' prefix, default to WorkerProperties'.
	GroupID string
	// Env is extra environment for the worker, where connector configs find
	// ${env:NAME} values (CDC_DB_HOST and friends).
	Env []string
	// HeapMax caps the heap (default 1g).
	HeapMax string
	// LogLevel of the root logger (default WARN; Debezium logs at INFO).
	LogLevel string
	// Output receives the worker's log as well as Dir/connect.log.
	Output io.Writer
	// Overrides are extra worker.properties entries.
	Overrides map[string]string
	// StartTimeout bounds the wait for GET / (default 3 minutes).
	StartTimeout time.Duration
}

// Connect is a running Kafka Connect worker.
type Connect struct {
	proc *process
	url  string
}

// WorkerProperties are the worker settings every stack shares: the ones
// compose/compose.yaml gives the Debezium Connect container (converters,
// storage topics, the env config provider), for a worker bound to the given
// broker and REST port.
func WorkerProperties(bootstrap string, port int, groupID string) map[string]string {
	return map[string]string{
		"bootstrap.servers":                 bootstrap,
		"group.id":                          groupID,
		"listeners":                         fmt.Sprintf("http://127.0.0.1:%d", port),
		"rest.advertised.host.name":         "127.0.0.1",
		"rest.advertised.port":              strconv.Itoa(port),
		"config.storage.topic":              "connect_configs",
		"offset.storage.topic":              "connect_offsets",
		"status.storage.topic":              "connect_statuses",
		"config.storage.replication.factor": "1",
		"offset.storage.replication.factor": "1",
		"status.storage.replication.factor": "1",
		"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                   "org.apache.kafka.connect.storage.StringConverter",
		"offset.flush.interval.ms":          "5000",
		"config.providers":                  "env",
		"config.providers.env.class":        "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		// Connectors are on the plain classpath and registered through
		// META-INF/services: no reflective scan of every jar at start.
		"plugin.discovery": "service_load",
	}
}

// DefaultGroupID is the Connect group of every stack.
const DefaultGroupID = "outboxcdc-connect"

// StartConnect starts a worker and returns once its REST API answers.
func StartConnect(ctx context.Context, cfg ConnectConfig) (*Connect, error) {
	if cfg.LibDir == "" || cfg.Dir == "" || cfg.Bootstrap == "" {
		return nil, errors.New("jvmstack: ConnectConfig needs LibDir, Dir and Bootstrap")
	}
	if cfg.GroupID == "" {
		cfg.GroupID = DefaultGroupID
	}
	if cfg.HeapMax == "" {
		cfg.HeapMax = "1g"
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "WARN"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	if cfg.Port == 0 {
		var err error
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	props := WorkerProperties(cfg.Bootstrap, cfg.Port, cfg.GroupID)
	maps.Copy(props, cfg.Overrides)
	worker := filepath.Join(cfg.Dir, "worker.properties")
	if err := writeProperties(worker, props); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	log4j := filepath.Join(cfg.Dir, "log4j2.properties")
	if err := writeLog4j(log4j, cfg.LogLevel, map[string]string{
		"org.apache.kafka.connect.runtime.Connect": "INFO", // "Kafka Connect started"
		"io.debezium": "INFO",
		"org.apache.kafka.connect.runtime.WorkerSourceTask": "INFO",
		"io.debezium.connector.common.BaseSourceTask":       "WARN",
	}); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	proc, err := startJava("connect", cfg.LibDir, cfg.Dir, cfg.Output, cfg.Env,
		append(jvmOptions("256m", cfg.HeapMax), "-Dlog4j2.configurationFile="+log4j),
		"org.apache.kafka.connect.cli.ConnectDistributed", worker)
	if err != nil {
		return nil, err
	}
	c := &Connect{proc: proc, url: fmt.Sprintf("http://127.0.0.1:%d", cfg.Port)}
	if err := proc.waitReady(ctx, cfg.StartTimeout, c.ready); err != nil {
		proc.kill()
		return nil, err
	}
	return c, nil
}

func (c *Connect) ready(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.url+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET / answered %s", resp.Status)
	}
	return nil
}

// URL is the REST API's base URL.
func (c *Connect) URL() string { return c.url }

// Pid is the JVM's process id.
func (c *Connect) Pid() int { return c.proc.cmd.Process.Pid }

// Exited is closed when the worker's process has exited.
func (c *Connect) Exited() <-chan struct{} { return c.proc.exited }

// Stop shuts the worker down cleanly (SIGTERM, up to 60 s, then SIGKILL).
func (c *Connect) Stop() error { return c.proc.stop(60 * time.Second) }

// Kill ends the worker at once, as a crash would.
func (c *Connect) Kill() { c.proc.kill() }

// Logs returns the last lines the worker wrote.
func (c *Connect) Logs() string { return c.proc.tail.String() }
