package jvmstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BrokerConfig says how to run an Apache Kafka broker.
type BrokerConfig struct {
	// LibDir holds the jars (from Fetch). Required.
	LibDir string
	// Dir holds the broker's state (data/, server.properties, kafka.log).
	// Required. A Dir that holds a formatted broker is started as it is.
	Dir string
	// Port is the client listener on 127.0.0.1, ControllerPort the KRaft
	// controller's; 0 picks a free port.
	Port, ControllerPort int
	// Partitions of auto-created topics (default 3, as every stack uses).
	Partitions int
	// HeapMax caps the heap (default 512m).
	HeapMax string
	// LogLevel of the root logger (default WARN; the "started" line is
	// logged regardless).
	LogLevel string
	// Output receives the broker's log as well as Dir/kafka.log; nil means
	// the file only.
	Output io.Writer
	// Overrides are extra server.properties entries.
	Overrides map[string]string
	// StartTimeout bounds the wait for readiness (default 3 minutes).
	StartTimeout time.Duration
}

// Broker is a running Apache Kafka broker.
type Broker struct {
	proc *process
	addr string
	cfg  BrokerConfig
}

// ServerProperties is the broker configuration StartBroker writes: a
// combined broker and controller on loopback, replication factor 1.
func ServerProperties(cfg BrokerConfig) map[string]string {
	p := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          "1",
		"controller.quorum.bootstrap.servers":              fmt.Sprintf("127.0.0.1:%d", cfg.ControllerPort),
		"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", cfg.Port, cfg.ControllerPort),
		"advertised.listeners":                             fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", cfg.Port, cfg.ControllerPort),
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"listener.security.protocol.map":                   "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"log.dirs":                                         filepath.Join(cfg.Dir, "data"),
		"num.partitions":                                   strconv.Itoa(cfg.Partitions),
		"auto.create.topics.enable":                        "true",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "3",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
		"group.initial.rebalance.delay.ms":                 "0",
	}
	maps.Copy(p, cfg.Overrides)
	return p
}

// StartBroker formats the storage when Dir is new, starts the broker and
// returns once it serves metadata.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if cfg.LibDir == "" || cfg.Dir == "" {
		return nil, errors.New("jvmstack: BrokerConfig needs LibDir and Dir")
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 3
	}
	if cfg.HeapMax == "" {
		cfg.HeapMax = "512m"
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "WARN"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	var err error
	if cfg.Port == 0 {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if cfg.ControllerPort == 0 {
		if cfg.ControllerPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	props := filepath.Join(cfg.Dir, "server.properties")
	if err := writeProperties(props, ServerProperties(cfg)); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	log4j := filepath.Join(cfg.Dir, "log4j2.properties")
	if err := writeLog4j(log4j, cfg.LogLevel, map[string]string{
		"kafka.server.KafkaRaftServer": "INFO", // "Kafka Server started"
		"org.apache.kafka":             cfg.LogLevel,
	}); err != nil {
		return nil, fmt.Errorf("jvmstack: %w", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "data", "meta.properties")); errors.Is(err, os.ErrNotExist) {
		if _, err := runJava(ctx, cfg.LibDir, cfg.Dir, "kafka.tools.StorageTool",
			"format", "--standalone", "-t", newClusterID(), "-c", props); err != nil {
			return nil, err
		}
	}
	proc, err := startJava("kafka", cfg.LibDir, cfg.Dir, cfg.Output, nil,
		append(jvmOptions("256m", cfg.HeapMax), "-Dlog4j2.configurationFile="+log4j),
		"kafka.Kafka", props)
	if err != nil {
		return nil, err
	}
	b := &Broker{proc: proc, addr: fmt.Sprintf("127.0.0.1:%d", cfg.Port), cfg: cfg}
	if err := proc.waitReady(ctx, cfg.StartTimeout, b.ready); err != nil {
		proc.kill()
		return nil, err
	}
	return b, nil
}

// ready asks the broker for its metadata: it must list itself and know its
// controller.
func (b *Broker) ready(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RequestRetries(0), kgo.DialTimeout(time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(rctx)
	if err != nil {
		return err
	}
	if len(md.Brokers) == 0 || md.Controller < 0 {
		return fmt.Errorf("broker metadata lists %d brokers, controller %d", len(md.Brokers), md.Controller)
	}
	return nil
}

// Addr is the bootstrap address, 127.0.0.1:port.
func (b *Broker) Addr() string { return b.addr }

// ControllerPort is the KRaft controller's port.
func (b *Broker) ControllerPort() int { return b.cfg.ControllerPort }

// Pid is the JVM's process id.
func (b *Broker) Pid() int { return b.proc.cmd.Process.Pid }

// Exited is closed when the broker's process has exited.
func (b *Broker) Exited() <-chan struct{} { return b.proc.exited }

// Stop shuts the broker down cleanly (SIGTERM, up to 60 s, then SIGKILL).
func (b *Broker) Stop() error { return b.proc.stop(60 * time.Second) }

// Kill ends the broker at once, as a crash would.
func (b *Broker) Kill() { b.proc.kill() }

// Logs returns the last lines the broker wrote.
func (b *Broker) Logs() string { return b.proc.tail.String() }

// newClusterID returns a KRaft cluster id: 16 random bytes, base64url
// without padding, as kafka-storage random-uuid prints. Like Kafka's own
// random ids it never starts with '-', which the storage tool would read
// as an option.
func newClusterID() string {
	for {
		var id [16]byte
		_, _ = rand.Read(id[:])
		if s := base64.RawURLEncoding.EncodeToString(id[:]); s[0] != '-' {
			return s
		}
	}
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("jvmstack: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
