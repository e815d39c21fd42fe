package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/jaeger"
	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
	"github.com/outboxcdc/outboxcdc/testkit/pgcluster"
)

// Stack kinds: what runs as the broker and as Kafka Connect.
const (
	stackEmbedded = "embedded" // kfake-based broker + walrelay
	stackKafka    = "kafka"    // Apache Kafka + walrelay
	stackDebezium = "debezium" // Apache Kafka + Kafka Connect with Debezium
)

type config struct {
	stack                                     string
	root, dir                                 string
	pgPort, kafkaPort, connectPort            int
	controllerPort                            int
	orderPort, paymentPort, inventoryPort     int
	pgPassword, cdcPassword                   string
	orderPassword, paymentPassword, invPasswd string
	logLevel                                  string
	withJaeger                                bool // run Jaeger and send the services' spans to it
	jaegerPort, jaegerOTLPPort                int  // its query API and UI, its OTLP/HTTP receiver
}

func loadConfig(getenv func(string) string) (config, error) {
	root, err := repoRoot()
	if err != nil {
		return config{}, err
	}
	c := config{root: root, logLevel: or(getenv("LOG_LEVEL"), "info"), stack: or(getenv("STACK"), stackEmbedded)}
	switch c.stack {
	case stackEmbedded, stackKafka, stackDebezium:
	default:
		return config{}, fmt.Errorf("STACK=%q: want %s, %s or %s", c.stack, stackEmbedded, stackKafka, stackDebezium)
	}
	// One state directory per stack: the brokers keep different data, and a
	// slot's position only makes sense with the broker it delivered to.
	c.dir = or(getenv("DEV_DIR"), filepath.Join(root, ".dev", c.stack))
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return config{}, err
	}
	ports := []struct {
		env  string
		def  int
		dest *int
	}{
		{"PG_PORT", 5432, &c.pgPort}, {"KAFKA_PORT", 9092, &c.kafkaPort}, {"KAFKA_CONTROLLER_PORT", 9093, &c.controllerPort},
		{"CONNECT_PORT", 8083, &c.connectPort},
		{"ORDER_PORT", 8080, &c.orderPort}, {"PAYMENT_PORT", 8081, &c.paymentPort}, {"INVENTORY_PORT", 8082, &c.inventoryPort},
		{"JAEGER_PORT", jaeger.DefaultQueryPort, &c.jaegerPort}, {"JAEGER_OTLP_PORT", jaeger.DefaultOTLPPort, &c.jaegerOTLPPort},
	}
	var errs []error
	switch v := getenv("JAEGER"); v {
	case "", "on":
		c.withJaeger = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("JAEGER=%q: want on (the default) or off", v))
	}
	for _, p := range ports {
		*p.dest = p.def
		if v := getenv(p.env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				errs = append(errs, fmt.Errorf("%s=%q is not a port number", p.env, v))
				continue
			}
			*p.dest = n
		}
	}
	c.pgPassword = or(getenv("POSTGRES_PASSWORD"), "postgres")
	c.orderPassword = or(getenv("ORDER_DB_PASSWORD"), "order_service")
	c.paymentPassword = or(getenv("PAYMENT_DB_PASSWORD"), "payment_service")
	c.invPasswd = or(getenv("INVENTORY_DB_PASSWORD"), "inventory_service")
	c.cdcPassword = or(getenv("CDC_DB_PASSWORD"), "cdc")
	return c, errors.Join(errs...)
}

// ports lists the stack's listeners by the variable that moves them.
func (c config) ports() []namedPort {
	ps := []namedPort{
		{"PG_PORT", c.pgPort}, {"KAFKA_PORT", c.kafkaPort}, {"CONNECT_PORT", c.connectPort},
		{"ORDER_PORT", c.orderPort}, {"PAYMENT_PORT", c.paymentPort}, {"INVENTORY_PORT", c.inventoryPort},
	}
	if c.stack != stackEmbedded {
		ps = append(ps, namedPort{"KAFKA_CONTROLLER_PORT", c.controllerPort})
	}
	if c.withJaeger {
		ps = append(ps, namedPort{"JAEGER_PORT", c.jaegerPort}, namedPort{"JAEGER_OTLP_PORT", c.jaegerOTLPPort})
	}
	return ps
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// repoRoot finds the directory holding go.work, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run devstack from inside the repository (no go.work found above the working directory)")
		}
		dir = parent
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.dir, "logs"), 0o755); err != nil {
		return err
	}
	out := &lineWriter{w: stdout, logDir: filepath.Join(cfg.dir, "logs")}
	defer out.close()
	log := slog.New(slog.NewTextHandler(out.prefixed("devstack"), &slog.HandlerOptions{Level: level}))
	// Nothing starts while one of the stack's ports is taken.
	if err := checkPorts(cfg.ports()); err != nil {
		return err
	}
	// The processes' own logs: text lines when a person watches the
	// terminal, JSON when the output goes to a file (make up) or a pipe.
	logEnv := childLogFormat(getenv, stdout)
	goEnv := goProcsEnv(getenv, runtime.NumCPU())
	tr := newTracker(cfg.dir, cfg.stack)
	defer tr.remove()

	log.Info("building binaries")
	tr.waiting("devstack", "building the stack's programs (go build)")
	bin := filepath.Join(cfg.dir, "bin")
	if err := build(ctx, cfg.root, bin); err != nil {
		return err
	}

	var jaegerBin string
	if cfg.withJaeger {
		tr.waiting("jaeger", "the Jaeger binary (built once per machine from tools/jaeger; JAEGER=off skips it)")
		if jaegerBin, err = jaegerBinary(ctx, cfg.root, log); err != nil {
			return err
		}
	}

	sup := newSupervisor(log)
	defer sup.stopAll()

	// Jaeger first, so it is stopped last and hears the services' last spans.
	if cfg.withJaeger {
		j := cfg.jaegerPorts()
		tr.waiting("jaeger", "Jaeger's query API at "+j.QueryURL()+"/api/services")
		pid, err := startJaeger(ctx, cfg, jaegerBin, sup, out, childLogsJSON(getenv, stdout), goEnv)
		if err != nil {
			return err
		}
		tr.ready("jaeger", pid, j.QueryURL(), j.QueryURL()+"/api/services")
		tr.jaeger(j)
	}

	tr.waiting("postgres", fmt.Sprintf("postgres on 127.0.0.1:%d", cfg.pgPort))
	var (
		pg    *pgcluster.Cluster // the first run; later runs keep its port and roles
		first sync.Once
	)
	pgPid, err := sup.supervise("postgres", func() (proc, error) {
		c, err := startPostgres(ctx, cfg, log)
		if err != nil {
			return proc{}, err
		}
		first.Do(func() { pg = c })
		return proc{pid: c.Pid(), exited: c.Exited(), stop: c.Stop}, nil
	})
	if err != nil {
		return err
	}
	tr.ready("postgres", pgPid, fmt.Sprintf("127.0.0.1:%d", cfg.pgPort), fmt.Sprintf("127.0.0.1:%d", cfg.pgPort))
	tr.socket("postgres", pg.SocketDir())
	kafkaAddr := fmt.Sprintf("127.0.0.1:%d", cfg.kafkaPort)
	connectURL := fmt.Sprintf("http://127.0.0.1:%d", cfg.connectPort)
	cdcEnv := []string{
		"CDC_DB_HOST=127.0.0.1",
		"CDC_DB_PORT=" + strconv.Itoa(cfg.pgPort),
		"CDC_DB_USER=cdc",
		"CDC_DB_PASSWORD=" + cfg.cdcPassword,
	}
	var libDir string
	if cfg.stack != stackEmbedded {
		log.Info("fetching the JVM stack's jars with Maven (once per machine)")
		tr.waiting("devstack", "Maven fetching Apache Kafka, Kafka Connect and Debezium (first run only)")
		if libDir, err = jvmstack.Fetch(ctx, jvmstack.FetchConfig{}); err != nil {
			return err
		}
	}
	switch cfg.stack {
	case stackEmbedded:
		tr.waiting("kafka", "the kfake-based broker on "+kafkaAddr)
		pid, err := sup.supervise("kafka", command(out, "kafka", filepath.Join(bin, "kafka"), slices.Concat(logEnv, goEnv),
			"-addr", kafkaAddr, "-data-dir", filepath.Join(cfg.dir, "kafka"), "-log-level", cfg.logLevel))
		if err != nil {
			return err
		}
		if err := waitTCP(ctx, sup, kafkaAddr, time.Minute); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		tr.ready("kafka", pid, kafkaAddr, kafkaAddr)
	default:
		log.Info("starting Apache Kafka", "addr", kafkaAddr)
		tr.waiting("kafka", "Apache Kafka to serve metadata on "+kafkaAddr)
		brokerCfg := jvmstack.BrokerConfig{
			LibDir: libDir, Dir: filepath.Join(cfg.dir, "kafka"),
			Port: cfg.kafkaPort, ControllerPort: cfg.controllerPort,
			LogLevel: jvmLogLevel(cfg.logLevel), Output: out.prefixed("kafka"),
		}
		pid, err := sup.supervise("kafka", func() (proc, error) {
			b, err := jvmstack.StartBroker(ctx, brokerCfg)
			if err != nil {
				return proc{}, err
			}
			return proc{pid: b.Pid(), exited: b.Exited(), stop: b.Stop}, nil
		})
		if err != nil {
			return err
		}
		tr.ready("kafka", pid, kafkaAddr, kafkaAddr)
	}

	switch cfg.stack {
	case stackEmbedded, stackKafka:
		relayEnv := append([]string{
			"BOOTSTRAP_SERVERS=" + kafkaAddr,
			"REST_HOST_NAME=127.0.0.1",
			"REST_PORT=" + strconv.Itoa(cfg.connectPort),
			// Resolve ${env:...} in connector configs, as the Debezium
			// worker does with the same two settings (jvmstack.WorkerProperties).
			"CONNECT_CONFIG_PROVIDERS=env",
			"CONNECT_CONFIG_PROVIDERS_ENV_CLASS=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
			"KEY_CONVERTER=org.apache.kafka.connect.storage.StringConverter",
			"VALUE_CONVERTER=org.apache.kafka.connect.storage.StringConverter",
			"LOG_LEVEL=" + cfg.logLevel,
		}, slices.Concat(cdcEnv, logEnv, goEnv)...)
		pid, err := sup.supervise("walrelay", command(out, "walrelay", filepath.Join(bin, "walrelay"), relayEnv))
		if err != nil {
			return err
		}
		tr.waiting("walrelay", "walrelay's REST API at "+connectURL+"/")
		if err := waitHTTP(ctx, sup, connectURL+"/", 2*time.Minute); err != nil {
			return fmt.Errorf("walrelay: %w", err)
		}
		tr.ready("walrelay", pid, connectURL, connectURL+"/")
	case stackDebezium:
		log.Info("starting Kafka Connect with Debezium", "url", connectURL)
		tr.waiting("connect", "Kafka Connect's REST API at "+connectURL+"/")
		connectCfg := jvmstack.ConnectConfig{
			LibDir: libDir, Dir: filepath.Join(cfg.dir, "connect"), Bootstrap: kafkaAddr,
			Port: cfg.connectPort, Env: cdcEnv,
			LogLevel: jvmLogLevel(cfg.logLevel), Output: out.prefixed("connect"),
		}
		pid, err := sup.supervise("connect", func() (proc, error) {
			c, err := jvmstack.StartConnect(ctx, connectCfg)
			if err != nil {
				return proc{}, err
			}
			return proc{pid: c.Pid(), exited: c.Exited(), stop: c.Stop}, nil
		})
		if err != nil {
			return err
		}
		tr.ready("connect", pid, connectURL, connectURL+"/")
	}

	services := []struct {
		name, user, password, db string
		port                     int
	}{
		{"order", "order_service", cfg.orderPassword, "orders", cfg.orderPort},
		{"payment", "payment_service", cfg.paymentPassword, "payments", cfg.paymentPort},
		{"inventory", "inventory_service", cfg.invPasswd, "inventory", cfg.inventoryPort},
	}
	pids := map[string]int{}
	for _, s := range services {
		env := []string{
			fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", s.port),
			// Through the server's Unix-domain socket where it has one:
			// every round trip costs both sides less than over loopback TCP.
			"DATABASE_URL=" + pg.LocalDSNFor(s.user, s.password, s.db),
			"KAFKA_BROKERS=" + kafkaAddr,
			// A static group member: restarted, it takes its partitions
			// back at once instead of after the session timeout.
			"KAFKA_INSTANCE_ID=" + s.name + "-1",
			"LOG_LEVEL=" + cfg.logLevel,
		}
		env = slices.Concat(env, logEnv, goEnv, cfg.otelEnv())
		pid, err := sup.supervise(s.name, command(out, s.name, filepath.Join(bin, s.name), env))
		if err != nil {
			return err
		}
		pids[s.name] = pid
	}
	// Services apply their migrations (outbox table, publication) at start
	// and answer /healthz; the connectors are registered then, which creates
	// each database's replication slot. A service writes no event and is not
	// ready (/readyz) until its slot exists (OUTBOX_REQUIRE_CAPTURE), so no
	// event can precede its slot.
	for _, s := range services {
		url := fmt.Sprintf("http://127.0.0.1:%d", s.port)
		tr.waiting(s.name, "the "+s.name+" service at "+url+"/healthz (migrated, serving)")
		if err := waitHTTP(ctx, sup, url+"/healthz", 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}

	tr.waiting("register", "connectors/debezium/*.json to be registered and RUNNING")
	reg := exec.CommandContext(ctx, "bash", filepath.Join(cfg.root, "scripts", "register-connector.sh"), "--url", connectURL)
	reg.Dir = cfg.root
	reg.Stdout = out.prefixed("register")
	reg.Stderr = out.prefixed("register")
	if err := reg.Run(); err != nil {
		return fmt.Errorf("registering connectors: %w", err)
	}

	for _, s := range services {
		url := fmt.Sprintf("http://127.0.0.1:%d", s.port)
		tr.waiting(s.name, "the "+s.name+" service at "+url+"/readyz (database, broker, replication slot)")
		if err := waitHTTP(ctx, sup, url+"/readyz", 2*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		tr.ready(s.name, pids[s.name], url, url+"/readyz")
	}

	endpoints := fmt.Sprintf(`endpoints:
  postgres   postgres://postgres:%s@127.0.0.1:%d/postgres (databases orders, payments, inventory)
  kafka      127.0.0.1:%d
  connect    %s (%s)
  order      http://127.0.0.1:%d
  payment    http://127.0.0.1:%d
  inventory  http://127.0.0.1:%d
%s`, cfg.pgPassword, cfg.pgPort, cfg.kafkaPort, connectURL, connectKind(cfg.stack), cfg.orderPort, cfg.paymentPort, cfg.inventoryPort,
		cfg.jaegerEndpoint())
	fmt.Fprint(out.prefixed("devstack"), endpoints)
	// From here on a process that dies is started again; Ctrl-C still
	// stops everything. The state says ready before the line does, so
	// whoever waits for the line finds the state complete.
	sup.heal(tr.restarted)
	tr.stackReady(endpoints)
	fmt.Fprintln(out.prefixed("devstack"), "stack ready")

	<-ctx.Done()
	log.Info("stopping")
	return nil
}

// childLogFormat is the environment that sets the log format of the
// stack's Go processes: text when devstack writes to a terminal, unless
// LOG_FORMAT says otherwise (the processes inherit it).
func childLogFormat(getenv func(string) string, stdout io.Writer) []string {
	if getenv("LOG_FORMAT") == "" && program.IsTerminal(stdout) {
		return []string{"LOG_FORMAT=" + program.LogText}
	}
	return nil
}

// connectKind names what answers the Kafka Connect REST API.
func connectKind(stack string) string {
	if stack == stackDebezium {
		return "Kafka Connect with Debezium"
	}
	return "walrelay"
}

// jvmLogLevel maps LOG_LEVEL to the JVMs' root level: their INFO is far
// chattier than ours, so our info is their WARN (Debezium and the start
// lines still log at INFO).
func jvmLogLevel(level string) string {
	switch strings.ToLower(level) {
	case "debug":
		return "INFO"
	case "error":
		return "ERROR"
	default:
		return "WARN"
	}
}

// build compiles every program of the stack into bin.
func build(ctx context.Context, root, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator),
		"./compose/devstack/cmd/kafka",
		"./connectors/walrelay/cmd/walrelay",
		"./services/order/cmd/order",
		"./services/payment/cmd/payment",
		"./services/inventory/cmd/inventory",
	)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// startPostgres starts the stack's cluster with the shared settings and
// access rules, and on its first start creates the roles and databases
// (compose/postgres/init.sql).
func startPostgres(ctx context.Context, cfg config, log *slog.Logger) (*pgcluster.Cluster, error) {
	hba, err := os.ReadFile(filepath.Join(cfg.root, "compose", "postgres", "pg_hba.conf"))
	if err != nil {
		return nil, fmt.Errorf("postgres access rules: %w", err)
	}
	pg, err := pgcluster.Start(ctx, pgcluster.Config{
		Dir: filepath.Join(cfg.dir, "postgres"), Port: cfg.pgPort, Password: cfg.pgPassword, Durable: true,
		Settings: postgresSettings, HBA: hba,
		Logger: log.With("component", "postgres"),
	})
	if err != nil {
		return nil, err
	}
	if err := initDatabases(ctx, cfg, pg); err != nil {
		_ = pg.Stop()
		return nil, err
	}
	return pg, nil
}

// postgresSettings are the server settings of both stacks' PostgreSQL (the
// postgres command in compose/compose.yaml; a test keeps them equal):
// logical decoding, few slots, and a cap on the WAL one slot may hold back,
// so a connector that stays away cannot fill the disk. A slot past the cap
// is invalidated: its connector must then be set up again and events
// written meanwhile are not captured (see the README).
var postgresSettings = map[string]string{
	"wal_level":              "logical",
	"max_replication_slots":  "10",
	"max_wal_senders":        "10",
	"max_slot_wal_keep_size": "2GB",
}

// psqlVar matches psql's :'name' variable interpolation used by init.sql.
var psqlVar = regexp.MustCompile(`:'([a-z_]+)'`)

// initDatabases runs compose/postgres/init.sql once, when the cluster is new.
func initDatabases(ctx context.Context, cfg config, pg *pgcluster.Cluster) error {
	marker := filepath.Join(cfg.dir, "postgres", "initialised")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(cfg.root, "compose", "postgres", "init.sql"))
	if err != nil {
		return err
	}
	vars := map[string]string{
		"order_password": cfg.orderPassword, "payment_password": cfg.paymentPassword,
		"inventory_password": cfg.invPasswd, "cdc_password": cfg.cdcPassword,
	}
	var missing []string
	sql := psqlVar.ReplaceAllStringFunc(string(raw), func(m string) string {
		name := psqlVar.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	})
	if len(missing) > 0 {
		return fmt.Errorf("init.sql uses variables devstack does not know: %v", missing)
	}
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// CREATE DATABASE cannot run inside a transaction block, so run the
	// statements one by one (init.sql holds no semicolons inside literals
	// other than the passwords, which are substituted after splitting).
	for _, stmt := range splitSQL(sql) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("init.sql: %s: %w", firstLine(stmt), err)
		}
	}
	return os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// splitSQL splits a script into statements at semicolons outside quotes and
// drops -- comments.
func splitSQL(script string) []string {
	var stmts []string
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(script); i++ {
		ch := script[i]
		switch {
		case !inQuote && ch == '-' && i+1 < len(script) && script[i+1] == '-':
			for i < len(script) && script[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
			continue
		case ch == '\'':
			inQuote = !inQuote
		case ch == ';' && !inQuote:
			if s := strings.TrimSpace(b.String()); s != "" {
				stmts = append(stmts, s)
			}
			b.Reset()
			continue
		}
		b.WriteByte(ch)
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func waitTCP(ctx context.Context, sup *supervisor, addr string, within time.Duration) error {
	return waitFor(ctx, sup, within, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func waitHTTP(ctx context.Context, sup *supervisor, url string, within time.Duration) error {
	return waitFor(ctx, sup, within, func() error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}

// waitFor polls check until it succeeds, a supervised process dies, ctx
// ends or the deadline passes.
func waitFor(ctx context.Context, sup *supervisor, within time.Duration, check func() error) error {
	deadline := time.Now().Add(within)
	var failed <-chan error // nil without a supervisor: never ready
	if sup != nil {
		failed = sup.failed
	}
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
