package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/libs/outbox"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
	"github.com/outboxcdc/outboxcdc/testkit/kfakebroker"
	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
)

type benchConfig struct {
	events   int
	rate     int
	duration time.Duration
	debezium bool
	// set holds connector settings added to both relays' config.
	set [][2]string
	// args are the command-line arguments as given, for the report.
	args []string
}

// Slot names. Each reader has its own slot, all created before the backlog
// is written, so each sees the same WAL from the same position.
const (
	baselineSlot = "baseline_slot"
	liveSlot     = "baseline_live_slot"
	walrelaySlot = "walrelay_slot"
	debeziumSlot = "debezium_slot"
	publication  = "outbox_publication"
	// aggregateType is the aggregatetype of every bench event; the router
	// puts it into the topic name.
	aggregateType = "bench"
)

// bench holds what the phases share.
type bench struct {
	cfg    benchConfig
	log    *slog.Logger
	root   string
	work   string
	pool   *pgxpool.Pool
	pgPort int
	broker brokerHandle
	adm    *kadm.Client
	// inserted counts the outbox events committed since the slots were
	// created: every relay slot holds exactly these, in commit order.
	inserted int
}

// brokerHandle is the Kafka broker both relays produce to.
type brokerHandle struct {
	addr string
	kind string
	// pid is the broker's own process, 0 when it runs inside this one.
	pid int
}

func run(ctx context.Context, cfg benchConfig, out io.Writer) error {
	log := slog.Default()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "walrelay-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(work)
	// PostgreSQL may run as another OS user, which must reach its data dir.
	if err := os.Chmod(work, 0o755); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	b := &bench{cfg: cfg, log: log, root: root, work: work}
	rep := &report{cfg: cfg, loadStart: loadAvg()}

	// The JVM stack first: when it cannot run, the run says so once and
	// carries on without it.
	var lib string
	switch {
	case !cfg.debezium:
		rep.debeziumSkipped = "skipped (-debezium=false)"
	default:
		log.Info("fetching the Kafka and Debezium jars (Maven, once per machine)")
		lib, err = jvmstack.Fetch(ctx, jvmstack.FetchConfig{})
		if errors.Is(err, jvmstack.ErrNoJava) {
			rep.debeziumSkipped = "skipped: " + err.Error()
			log.Warn("Debezium " + rep.debeziumSkipped)
		} else if err != nil {
			return fmt.Errorf("fetch the JVM stack: %w", err)
		}
	}

	log.Info("building walrelay")
	relayBin := filepath.Join(work, "walrelay")
	build := exec.CommandContext(ctx, "go", "build", "-o", relayBin, "./connectors/walrelay/cmd/walrelay")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build walrelay: %w\n%s", err, out)
	}

	if lib != "" {
		log.Info("starting Apache Kafka")
		kafka, err := jvmstack.StartBroker(ctx, jvmstack.BrokerConfig{LibDir: lib, Dir: filepath.Join(work, "kafka")})
		switch {
		case errors.Is(err, jvmstack.ErrNoJava):
			rep.debeziumSkipped = "skipped: " + err.Error()
			log.Warn("Debezium " + rep.debeziumSkipped)
			lib = ""
		case err != nil:
			return fmt.Errorf("start Apache Kafka: %w", err)
		default:
			defer func() {
				if err := kafka.Stop(); err != nil {
					log.Warn("stopping Apache Kafka", "err", err)
				}
			}()
			b.broker = brokerHandle{addr: kafka.Addr(), kind: "Apache Kafka " + jarVersion(lib, "kafka_2.13-"), pid: kafka.Pid()}
			rep.versions = fmt.Sprintf("Apache Kafka %s, Debezium %s, %s", jarVersion(lib, "kafka_2.13-"),
				jarVersion(lib, "debezium-connector-postgres-"), javaVersion())
		}
	}
	if lib == "" {
		kf, err := kfakebroker.Start(kfakebroker.Config{DataDir: filepath.Join(work, "kafka")})
		if err != nil {
			return fmt.Errorf("start the embedded broker: %w", err)
		}
		defer kf.Close()
		kind := "embedded kfake broker (Apache Kafka needs java)"
		if !cfg.debezium {
			kind = "embedded kfake broker (-debezium=false runs no JVM)"
		}
		b.broker = brokerHandle{addr: kf.Addr(), kind: kind}
	}
	rep.broker = b.broker.kind
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.broker.addr))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	b.adm = kadm.NewClient(cl)
	defer b.adm.Close()
	// The first idempotent producer on a fresh broker makes the broker
	// obtain a block of producer ids from the controller: one produce here
	// does that before any relay is timed, so neither pays for it.
	if err := b.createTopic(ctx, "bench-warmup"); err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "bench-warmup", Value: []byte("warm-up")}).FirstErr(); err != nil {
		return fmt.Errorf("warm up the broker: %w", err)
	}

	log.Info("starting PostgreSQL")
	pg, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(work, "pg")})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "bench", ""); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	b.pgPort = pg.Port()
	if b.pool, err = pgxpool.New(ctx, pg.DSN("bench")); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer b.pool.Close()
	if err := b.pool.QueryRow(ctx, `SHOW server_version`).Scan(&rep.pgVersion); err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	// One statement per Exec: a slot cannot be created in a transaction
	// that has written, and a multi-statement Exec is one transaction.
	setup := []string{
		outbox.Schema,
		`CREATE PUBLICATION ` + publication + ` FOR TABLE outbox`,
		`SELECT pg_create_logical_replication_slot('` + baselineSlot + `', 'pgoutput')`,
		`SELECT pg_create_logical_replication_slot('` + walrelaySlot + `', 'pgoutput')`,
	}
	if lib != "" {
		setup = append(setup, `SELECT pg_create_logical_replication_slot('`+debeziumSlot+`', 'pgoutput')`)
	}
	for _, q := range setup {
		if _, err := b.pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	// 1. Backlog.
	log.Info("filling the backlog", "events", cfg.events, "clients", 8)
	start := time.Now()
	if err := fill(ctx, b.pool, cfg.events); err != nil {
		return fmt.Errorf("fill the backlog: %w", err)
	}
	rep.fill = time.Since(start)
	b.inserted = cfg.events
	var endLSN string
	if err := b.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&endLSN); err != nil {
		return fmt.Errorf("current WAL position: %w", err)
	}

	// 2. Baseline drain.
	log.Info("draining the backlog with pg_recvlogical")
	base, err := b.baselineDrain(ctx, endLSN)
	if err != nil {
		return err
	}

	// 3. The relays, one after the other.
	wr, err := b.runWalrelay(ctx, relayBin)
	if err != nil {
		return err
	}
	rep.walrelay = wr
	if lib != "" {
		dz, err := b.runDebezium(ctx, lib)
		if err != nil {
			return err
		}
		rep.debezium = &dz
	}

	// 4. Baseline latency, last, on a slot created now: it starts at the
	// current WAL position, so nothing of the earlier phases is replayed.
	log.Info("measuring pg_recvlogical latency", "rate", cfg.rate, "duration", cfg.duration)
	if err := b.baselineLatency(ctx, &base); err != nil {
		return err
	}
	rep.baseline = base
	rep.loadEnd = loadAvg()
	rep.print(out)
	return nil
}

// fill commits n outbox inserts, one per transaction, from 8 clients.
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

// insertOne commits one outbox event in its own transaction and returns
// its id once the commit has returned.
func insertOne(ctx context.Context, pool *pgxpool.Pool, aggID string) (string, error) {
	var id string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		evs := []outbox.Event{{AggregateType: aggregateType, AggregateID: aggID, Type: "BenchEvent",
			Payload: []byte(`{"n": 1, "note": "a small payload"}`)}}
		if err := outbox.Append(ctx, tx, evs...); err != nil {
			return err
		}
		id = evs[0].ID.String()
		return nil
	})
	return id, err
}

// pgConnString is pg_recvlogical's connection to the bench database.
func (b *bench) pgConnString() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=postgres dbname=bench", b.pgPort)
}

// baselineDrain reads the backlog from the baseline slot up to endLSN into
// /dev/null and returns its time, CPU and peak RSS.
func (b *bench) baselineDrain(ctx context.Context, endLSN string) (result, error) {
	bindir, err := pgcluster.FindBinDir()
	if err != nil {
		return result{}, fmt.Errorf("pg_recvlogical: %w", err)
	}
	recv := exec.CommandContext(ctx, filepath.Join(bindir, "pg_recvlogical"),
		"-d", b.pgConnString(), "--slot", baselineSlot, "--start", "--endpos", endLSN, "--no-loop",
		"-o", "proto_version=1", "-o", "publication_names="+publication, "-f", "/dev/null")
	start := time.Now()
	if out, err := recv.CombinedOutput(); err != nil {
		return result{}, fmt.Errorf("pg_recvlogical: %w\n%s", err, out)
	}
	r := result{name: "pg_recvlogical", events: b.cfg.events, drain: time.Since(start),
		first: -1, ready: -1, brokerCPU: -1}
	r.cpuDrain, r.rss = rusage(recv.ProcessState)
	r.cpuTotal = r.cpuDrain
	return r, nil
}

// baselineLatency measures commit-to-receive latency of pg_recvlogical
// streaming from a slot created just before, adding its CPU and peak RSS
// to r.
func (b *bench) baselineLatency(ctx context.Context, r *result) error {
	if _, err := b.pool.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, liveSlot); err != nil {
		return fmt.Errorf("create %s: %w", liveSlot, err)
	}
	bindir, err := pgcluster.FindBinDir()
	if err != nil {
		return fmt.Errorf("pg_recvlogical: %w", err)
	}
	l, err := startRecvLogical(ctx, b.pool, filepath.Join(bindir, "pg_recvlogical"), b.pgConnString(), liveSlot)
	if err != nil {
		return err
	}
	lat, err := measureLatency(ctx, b.pool, b.cfg.rate, b.cfg.duration, l)
	b.inserted += lat.inserted
	cpu, rss, stopErr := l.stop()
	if err != nil {
		return fmt.Errorf("pg_recvlogical latency: %w", err)
	}
	if stopErr != nil {
		return stopErr
	}
	r.lat = lat
	r.cpuTotal += cpu
	r.rss = max(r.rss, rss)
	return nil
}

// rusage returns the CPU seconds (user + system) and peak RSS of a process
// that has exited.
func rusage(ps *os.ProcessState) (cpu float64, rss int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, 0
	}
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return cpu, ru.Maxrss * 1024 // kilobytes on Linux
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
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
