package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/configprovider"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/metrics"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
)

// Errors the REST layer maps to statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// BadRequestError is a 400 with Kafka Connect's message.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// InvalidConfigError is a configuration that failed validation.
type InvalidConfigError struct{ Errors []eventrouter.ConfigError }

func (e *InvalidConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Connector configuration is invalid and contains the following %d error(s):", len(e.Errors))
	for _, ce := range e.Errors {
		b.WriteString("\n")
		b.WriteString(errorText(ce))
	}
	b.WriteString("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`")
	return b.String()
}

// errorText renders one problem as Debezium's field validation does.
func errorText(ce eventrouter.ConfigError) string {
	if strings.HasPrefix(ce.Message, "The '") || strings.HasPrefix(ce.Message, "Invalid value ") {
		return ce.Message
	}
	return fmt.Sprintf("The '%s' value is invalid: %s", ce.Key, ce.Message)
}

// Config configures a Worker.
type Config struct {
	// Brokers are the bootstrap servers.
	Brokers []string
	// Worker holds the worker properties: converter defaults
	// (key.converter, ...), config.providers, config.storage.*.
	Worker map[string]string
	// ConfigTopic stores connector configs (default connect_configs).
	ConfigTopic string
	// WorkerID is shown as worker_id in statuses (host:port).
	WorkerID string
	// Version and Commit are reported by GET /.
	Version, Commit string
	// LookupEnv resolves ${env:...} references (os.LookupEnv in the
	// program); nil resolves nothing.
	LookupEnv func(string) (string, bool)
	// Logger and Metrics are required.
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// ClientOpts are added to every Kafka client (tests).
	ClientOpts []kgo.Opt
	// ShutdownTimeout bounds a task's flush when it stops (default 30s).
	ShutdownTimeout time.Duration
	// AllowedHosts, when set, are the only database.hostname values a
	// config that uses ${...} references may name: whoever can reach the
	// REST API cannot have a resolved secret sent to a host of their
	// choosing. Configs without references are not restricted.
	AllowedHosts []string
}

// Worker is a single-node Kafka Connect worker running walrelay tasks.
type Worker struct {
	cfg       Config
	log       *slog.Logger
	store     *store
	clusterID string
	resolver  *configprovider.Resolver

	opMu sync.Mutex // serializes changes; held across slow task stops

	mu         sync.RWMutex
	connectors map[string]*connector
	// unclaimed holds target states and snapshot notes stored for names
	// that have no connector config; a connector created under such a
	// name takes them, as Kafka Connect does. Guarded by opMu.
	unclaimed map[string]*storedConnector
}

type connector struct {
	name            string
	config          map[string]string // as submitted, references unresolved
	target          string
	task            *sourcetask.Task
	failure         string // set when the connector cannot start a task at all
	snapshotPending bool
}

// newConnector is a connector with what the config topic holds for it; a
// connector without a stored target state is STARTED.
func newConnector(name string, sc *storedConnector) *connector {
	c := &connector{name: name, config: sc.config, target: sc.target, snapshotPending: sc.snapshotPending}
	if c.target == "" {
		c.target = TargetStarted
	}
	return c
}

// New connects to the broker, replays the stored connectors and starts
// them.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	if cfg.ConfigTopic == "" {
		cfg.ConfigTopic = "connect_configs"
	}
	lookup := cfg.LookupEnv
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	resolver, err := configprovider.New(cfg.Worker, lookup)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	rf := int16(-1)
	if v := cfg.Worker["config.storage.replication.factor"]; v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil {
			return nil, fmt.Errorf("connect: config.storage.replication.factor %q: %w", v, err)
		}
		rf = int16(n)
	}
	st, state, cluster, err := openStore(ctx, cfg.Brokers, cfg.ConfigTopic, rf, cfg.Logger, cfg.ClientOpts...)
	if err != nil {
		return nil, err
	}
	w := &Worker{
		cfg:        cfg,
		log:        cfg.Logger,
		store:      st,
		clusterID:  cluster,
		resolver:   resolver,
		connectors: map[string]*connector{},
		unclaimed:  map[string]*storedConnector{},
	}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(state)) {
		sc := state[name]
		if sc.config == nil {
			w.unclaimed[name] = sc
			continue
		}
		names = append(names, name)
		c := newConnector(name, sc)
		w.connectors[name] = c
		if c.target == TargetStarted {
			w.startTask(c)
		}
	}
	w.log.Info("connect worker ready", "connectors", len(names), "config_topic", cfg.ConfigTopic, "kafka_cluster_id", cluster)
	return w, nil
}

// Close stops every task (flushing and confirming) and the config store.
func (w *Worker) Close(ctx context.Context) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	w.mu.Lock()
	var tasks []*sourcetask.Task
	for _, c := range w.connectors {
		if c.task != nil {
			tasks = append(tasks, c.task)
			c.task = nil
		}
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	for i, t := range tasks {
		wg.Go(func() { errs[i] = t.Stop(ctx) })
	}
	wg.Wait()
	w.store.close()
	return errors.Join(errs...)
}

// startTask starts c's task from its config; problems that keep it from
// starting at all make the connector FAILED. Called with opMu held.
func (w *Worker) startTask(c *connector) {
	resolved, err := w.resolver.Resolve(c.config)
	if err != nil {
		w.setFailure(c, "org.apache.kafka.common.config.ConfigException: "+err.Error())
		return
	}
	cfg, errs := sourcetask.ParseConfig(resolved)
	if len(errs) > 0 {
		w.setFailure(c, "org.apache.kafka.common.config.ConfigException: "+(&InvalidConfigError{errs}).Error())
		return
	}
	t := sourcetask.Start(cfg, sourcetask.Options{
		Brokers:         w.cfg.Brokers,
		Worker:          eventrouter.Worker{Props: w.cfg.Worker},
		Logger:          w.log,
		Metrics:         w.cfg.Metrics,
		ProducerOpts:    w.cfg.ClientOpts,
		ShutdownTimeout: w.cfg.ShutdownTimeout,
		SnapshotMarks:   w,
	})
	w.mu.Lock()
	c.failure = ""
	c.task = t
	w.mu.Unlock()
}

func (w *Worker) setFailure(c *connector, trace string) {
	w.log.Error("connector cannot start", "connector", c.name, "error", trace)
	w.mu.Lock()
	c.failure = trace
	w.mu.Unlock()
}

var _ sourcetask.SnapshotMarks = (*Worker)(nil)

// SetSnapshotPending stores whether the connector's initial snapshot is in
// progress (sourcetask.SnapshotMarks).
func (w *Worker) SetSnapshotPending(ctx context.Context, name string, pending bool) error {
	if err := w.store.putSnapshotPending(ctx, name, pending); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.connectors[name]; c != nil {
		c.snapshotPending = pending
	}
	return nil
}

// SnapshotPending reports whether the connector's initial snapshot was
// started and not finished (sourcetask.SnapshotMarks).
func (w *Worker) SnapshotPending(name string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	c := w.connectors[name]
	return c != nil && c.snapshotPending
}

// stopTask stops c's task; suspend keeps the slot even with
// slot.drop.on.stop (pause). Called with opMu held.
func (w *Worker) stopTask(ctx context.Context, c *connector, suspend bool) error {
	w.mu.Lock()
	t := c.task
	c.task = nil
	w.mu.Unlock()
	if t == nil {
		return nil
	}
	if suspend {
		return t.Suspend(ctx)
	}
	return t.Stop(ctx)
}

func (w *Worker) get(name string) (*connector, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	c := w.connectors[name]
	if c == nil {
		return nil, fmt.Errorf("Connector %s not found: %w", name, ErrNotFound)
	}
	return c, nil
}

// Validate resolves references and validates a config, connecting to the
// database.
func (w *Worker) Validate(ctx context.Context, config map[string]string) []eventrouter.ConfigError {
	resolved, err := w.resolver.Resolve(config)
	if err != nil {
		return []eventrouter.ConfigError{{Key: "config.providers", Message: err.Error()}}
	}
	if h := resolved["database.hostname"]; len(w.cfg.AllowedHosts) > 0 && usesReferences(config) && !slices.Contains(w.cfg.AllowedHosts, h) {
		return []eventrouter.ConfigError{{Key: "database.hostname", Message: fmt.Sprintf(
			"%q is not among the hosts this worker sends resolved ${...} values to (%s)", h, strings.Join(w.cfg.AllowedHosts, ", "))}}
	}
	_, errs := sourcetask.Validate(ctx, resolved, eventrouter.Worker{Props: w.cfg.Worker})
	return errs
}

// usesReferences reports whether a config value refers to a config
// provider (${provider:...}).
func usesReferences(config map[string]string) bool {
	for _, v := range config {
		if strings.Contains(v, "${") {
			return true
		}
	}
	return false
}

// Put creates or replaces a connector's config; created reports which.
func (w *Worker) Put(ctx context.Context, name string, config map[string]string) (created bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	config = maps.Clone(config)
	if n, ok := config["name"]; ok && n != name {
		return false, &BadRequestError{fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name)}
	}
	config["name"] = name
	if err := checkClass(config); err != nil {
		return false, err
	}
	if errs := w.Validate(ctx, config); len(errs) > 0 {
		return false, &InvalidConfigError{errs}
	}

	w.opMu.Lock()
	defer w.opMu.Unlock()
	w.mu.RLock()
	c := w.connectors[name]
	w.mu.RUnlock()
	if err := w.store.putConfig(ctx, name, config); err != nil {
		return false, err
	}
	if c == nil {
		sc := w.unclaimed[name]
		if sc == nil {
			sc = &storedConnector{}
		}
		delete(w.unclaimed, name)
		sc.config = config
		c = newConnector(name, sc)
		w.mu.Lock()
		w.connectors[name] = c
		w.mu.Unlock()
		w.log.Info("connector created", "connector", name, "target_state", c.target)
		if c.target == TargetStarted {
			w.startTask(c)
		}
		return true, nil
	}
	if err := w.stopTask(ctx, c, false); err != nil {
		return false, err
	}
	w.mu.Lock()
	c.config = config
	c.failure = ""
	w.mu.Unlock()
	w.log.Info("connector reconfigured", "connector", name)
	if c.target == TargetStarted {
		w.startTask(c)
	}
	return false, nil
}

// Create is POST /connectors: Put that refuses an existing name.
func (w *Worker) Create(ctx context.Context, name string, config map[string]string) error {
	if name == "" {
		return &BadRequestError{"Connector name must not be empty"}
	}
	w.mu.RLock()
	_, exists := w.connectors[name]
	w.mu.RUnlock()
	if exists {
		return fmt.Errorf("Connector %s already exists: %w", name, ErrExists)
	}
	created, err := w.Put(ctx, name, config)
	if err == nil && !created {
		return fmt.Errorf("Connector %s already exists: %w", name, ErrExists)
	}
	return err
}

// Delete stops a connector and forgets it. Its slot and publication stay.
func (w *Worker) Delete(ctx context.Context, name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.get(name)
	if err != nil {
		return err
	}
	if err := w.store.remove(ctx, name); err != nil {
		return err
	}
	if err := w.stopTask(ctx, c, false); err != nil {
		w.log.Warn("stop on delete", "connector", name, "error", err)
	}
	w.mu.Lock()
	delete(w.connectors, name)
	w.mu.Unlock()
	w.cfg.Metrics.Forget(name)
	w.log.Info("connector deleted; its replication slot and publication are kept", "connector", name)
	return nil
}

// SetTarget pauses, resumes or stops a connector.
func (w *Worker) SetTarget(ctx context.Context, name, target string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.get(name)
	if err != nil {
		return err
	}
	if err := w.store.putTarget(ctx, name, target); err != nil {
		return err
	}
	w.mu.Lock()
	c.target = target
	w.mu.Unlock()
	switch target {
	case TargetStarted:
		w.mu.RLock()
		running := c.task != nil
		w.mu.RUnlock()
		if !running {
			w.startTask(c)
		}
	case TargetPaused:
		return w.stopTask(ctx, c, true)
	case TargetStopped:
		return w.stopTask(ctx, c, false)
	}
	return nil
}

// Restart restarts the connector and, with includeTasks, its task;
// onlyFailed limits both to instances that failed. It returns which were
// restarted.
func (w *Worker) Restart(ctx context.Context, name string, includeTasks, onlyFailed bool) (connRestarted, taskRestarted bool, err error) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.get(name)
	if err != nil {
		return false, false, err
	}
	w.mu.RLock()
	connFailed := c.failure != ""
	t := c.task
	target := c.target
	w.mu.RUnlock()
	taskFailed := false
	if t != nil {
		state, _ := t.Status()
		taskFailed = state == sourcetask.StateFailed
	}
	connRestarted = !onlyFailed || connFailed
	taskRestarted = includeTasks && target != TargetStopped && (!onlyFailed || taskFailed || connFailed)
	if taskRestarted || (connRestarted && connFailed) {
		if err := w.stopTask(ctx, c, false); err != nil {
			return false, false, err
		}
		if target == TargetStarted {
			w.startTask(c)
		}
	}
	return connRestarted, taskRestarted, nil
}

// RestartTask restarts task 0.
func (w *Worker) RestartTask(ctx context.Context, name string, id int) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	c, err := w.get(name)
	if err != nil {
		return err
	}
	w.mu.RLock()
	target := c.target
	w.mu.RUnlock()
	if id != 0 || target == TargetStopped {
		return fmt.Errorf("Unknown task: %s-%d: %w", name, id, ErrNotFound)
	}
	if err := w.stopTask(ctx, c, false); err != nil {
		return err
	}
	if target == TargetStarted {
		w.startTask(c)
	}
	return nil
}

func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return &BadRequestError{"Connector name must not be empty"}
	}
	if strings.ContainsAny(name, "\x00/") {
		return &BadRequestError{fmt.Sprintf("Connector name %q is not valid", name)}
	}
	return nil
}

func checkClass(config map[string]string) error {
	cls, ok := config["connector.class"]
	if !ok || strings.TrimSpace(cls) == "" {
		return &BadRequestError{"Connector config " + formatConfig(config) + " contains no connector type"}
	}
	if !knownClass(cls) {
		return &BadRequestError{fmt.Sprintf("Failed to find any class that implements Connector and which name matches %s, available connectors are: PluginDesc{klass=class %s, name='%s', version='%s', encodedVersion=%s, type=source, typeName='source', location='walrelay'}", cls, sourcetask.ConnectorClass, sourcetask.ConnectorClass, PluginVersion, PluginVersion)}
	}
	return nil
}

func knownClass(cls string) bool {
	cls = strings.TrimSpace(cls)
	return cls == sourcetask.ConnectorClass || cls == sourcetask.ConnectorClassAlias
}

// formatConfig prints a config like Java's Map.toString, with secrets
// masked.
func formatConfig(config map[string]string) string {
	keys := slices.Sorted(maps.Keys(config))
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := config[k]
		if strings.Contains(strings.ToLower(k), "password") {
			v = "[hidden]"
		}
		parts[i] = k + "=" + v
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
