package kfakebroker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config says how to run the broker.
type Config struct {
	// Addr is host:port to listen on. Empty means 127.0.0.1 on a free port.
	Addr string
	// Partitions is the partition count of auto-created topics (default 3).
	Partitions int
	// DataDir, when set, persists topics, records and group offsets there
	// and reloads them on start.
	DataDir string
	// SyncWrites fsyncs every produced batch (durable across machine crashes).
	SyncWrites bool
	// ClusterID is reported to clients (default "outboxcdc-dev").
	ClusterID string
	// Logger receives broker warnings and errors; nil discards them.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	c       *kfake.Cluster
	addr    string
	journal *topicJournal
	once    sync.Once
}

// Start starts a broker and returns once it accepts connections.
func Start(cfg Config) (*Broker, error) {
	if cfg.Partitions <= 0 {
		cfg.Partitions = 3
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "outboxcdc-dev"
	}
	host, port := "127.0.0.1", 0
	if cfg.Addr != "" {
		h, p, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("kfakebroker: address %q: %w", cfg.Addr, err)
		}
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("kfakebroker: port %q: %w", p, err)
		}
		if h != "" {
			host = h
		}
	}
	opts := []kfake.Opt{
		kfake.Ports(port),
		// kfake binds 127.0.0.1; honour the host the caller asked for.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.ClusterID(cfg.ClusterID),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
	}
	if cfg.Logger != nil {
		opts = append(opts, kfake.WithLogger(slogAdapter{cfg.Logger}))
	}
	if cfg.DataDir != "" {
		if err := repairTopics(cfg.DataDir); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kfakebroker: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("kfakebroker: expected one listener, got %v", addrs)
	}
	b := &Broker{c: c, addr: addrs[0]}
	if cfg.DataDir != "" {
		if b.journal, err = startJournal(c, cfg.DataDir); err != nil {
			c.Close()
			return nil, err
		}
	}
	return b, nil
}

// Addr is the broker's host:port, the bootstrap address for clients.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, saving its state when it has a data directory.
func (b *Broker) Close() {
	b.once.Do(func() {
		if b.journal != nil {
			b.journal.close()
		}
		b.c.Close()
	})
}

// Run serves until ctx is done, then closes the broker.
func (b *Broker) Run(ctx context.Context) {
	<-ctx.Done()
	b.Close()
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Logf(level kfake.LogLevel, msg string, args ...any) {
	var l slog.Level
	switch level {
	case kfake.LogLevelError:
		l = slog.LevelError
	case kfake.LogLevelWarn:
		l = slog.LevelWarn
	case kfake.LogLevelInfo:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	if !a.l.Enabled(context.Background(), l) {
		return
	}
	a.l.Log(context.Background(), l, fmt.Sprintf(msg, args...), "component", "kafka")
}
