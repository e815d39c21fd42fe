// Command kafka runs the embedded Kafka-protocol broker of the development
// stack: one node on 127.0.0.1:9092 by default, topics auto-created with 3
// partitions, state kept in a data directory so topics, records and
// committed offsets survive a restart (kill -9 included).
//
// Flags override the environment: KAFKA_ADDR, KAFKA_PARTITIONS,
// KAFKA_DATA_DIR, KAFKA_SYNC_WRITES, LOG_LEVEL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/testkit/kfakebroker"
)

func main() {
	program.Main("kafka", func(ctx context.Context, _ context.CancelFunc) error {
		return run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	})
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	addr := fs.String("addr", envOr(getenv, "KAFKA_ADDR", "127.0.0.1:9092"), "listen address (host:port)")
	partitions := fs.Int("partitions", envInt(getenv, "KAFKA_PARTITIONS", 3), "partitions of auto-created topics")
	dataDir := fs.String("data-dir", getenv("KAFKA_DATA_DIR"), "directory that keeps topics and offsets across restarts (empty: memory only)")
	syncWrites := fs.Bool("sync-writes", getenv("KAFKA_SYNC_WRITES") == "true", "fsync every produced batch")
	logLevel := fs.String("log-level", envOr(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error")
	logFormat := fs.String("log-format", getenv("LOG_FORMAT"), "json or text (default: text on a terminal, else JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("log level %q: %w", *logLevel, err)
	}
	if *partitions < 1 {
		return errors.New("partitions must be at least 1")
	}
	log, err := program.Logger(stdout, *logFormat, level)
	if err != nil {
		return err
	}
	b, err := kfakebroker.Start(kfakebroker.Config{
		Addr: *addr, Partitions: *partitions, DataDir: *dataDir, SyncWrites: *syncWrites,
		Logger: log.With("component", "kafka"),
	})
	if err != nil {
		return err
	}
	if *dataDir == "" {
		log.Warn("no data dir: topics and offsets are lost when the broker stops")
	}
	log.Info("kafka broker ready", "addr", b.Addr(), "partitions", *partitions, "data_dir", *dataDir)
	b.Run(ctx)
	log.Info("kafka broker stopped")
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(getenv func(string) string, key string, def int) int {
	if v := getenv(key); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}
