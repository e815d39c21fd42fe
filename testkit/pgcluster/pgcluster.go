package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNoBinaries is returned (wrapped) by Start when no PostgreSQL server
// binaries can be found on the machine.
var ErrNoBinaries = errors.New("postgresql server binaries (initdb, postgres) not found")

// installHint is the one command that fixes ErrNoBinaries on Debian-like machines.
const installHint = "install them with: apt-get update && apt-get install -y postgresql (or put initdb and postgres on PATH)"

// Config says how to run a cluster. The zero value is a throwaway cluster on
// a free loopback port, tuned for tests (no fsync).
type Config struct {
	// Dir holds the cluster. Empty means a fresh temporary directory that
	// Stop removes. A Dir that already holds a cluster is started as it is,
	// so its databases survive restarts.
	Dir string
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Superuser and Password of the bootstrap role. Defaults: postgres/postgres.
	Superuser string
	Password  string
	// Durable keeps fsync and full-page writes on, as a database that must
	// survive a machine crash needs. Tests leave it off for speed.
	Durable bool
	// Settings are extra server settings (postgres -c name=value).
	Settings map[string]string
	// HBA, when set, is the client authentication file (pg_hba.conf) the
	// server runs with; it is written before every start, so a kept
	// cluster gets the current rules. Empty keeps initdb's: password
	// (scram-sha-256) for every role and database over TCP, physical
	// replication included.
	HBA []byte
	// Logger receives the harness's own progress messages; nil discards.
	Logger *slog.Logger
}

// Cluster is a running PostgreSQL server started by Start.
type Cluster struct {
	cfg     Config
	root    string // directory holding data/ and postgres.log
	temp    bool   // root is ours to delete
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start initialises (when needed) and starts a cluster, and returns once it
// accepts connections.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Superuser == "" {
		cfg.Superuser = "postgres"
	}
	if cfg.Password == "" {
		cfg.Password = "postgres"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	bindir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}

	c := &Cluster{cfg: cfg}
	if cfg.Dir == "" {
		c.root, err = os.MkdirTemp("", "pgcluster-")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: temp dir: %w", err)
		}
		c.temp = true
	} else {
		c.root, err = filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.MkdirAll(c.root, 0o700); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	fail := func(err error) (*Cluster, error) {
		if c.temp {
			_ = os.RemoveAll(c.root)
		}
		return nil, err
	}
	if err := owner.own(c.root); err != nil {
		return fail(err)
	}

	dataDir := filepath.Join(c.root, "data")
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		cfg.Logger.Info("initialising postgresql cluster", "dir", dataDir)
		if err := c.initdb(ctx, bindir, owner, dataDir); err != nil {
			return fail(err)
		}
	}

	if cfg.HBA != nil {
		hba := filepath.Join(dataDir, "pg_hba.conf")
		if err := os.WriteFile(hba, cfg.HBA, 0o600); err != nil {
			return fail(fmt.Errorf("pgcluster: %w", err))
		}
		if err := owner.own(hba); err != nil {
			return fail(err)
		}
	}

	// A free port can be taken between probing and binding; retry a few times.
	for attempt := 0; ; attempt++ {
		c.port = cfg.Port
		if c.port == 0 {
			if c.port, err = freePort(); err != nil {
				return fail(err)
			}
		}
		err = c.start(ctx, bindir, owner, dataDir)
		if err == nil {
			break
		}
		if cfg.Port != 0 || attempt == 2 || ctx.Err() != nil {
			return fail(err)
		}
	}
	cfg.Logger.Info("postgresql ready", "port", c.port, "dir", dataDir)
	return c, nil
}

func (c *Cluster) initdb(ctx context.Context, bindir string, owner osUser, dataDir string) error {
	pwfile := filepath.Join(c.root, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.cfg.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(pwfile)
	if err := owner.own(pwfile); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bindir, "initdb"),
		"-D", dataDir,
		"-U", c.cfg.Superuser,
		"--pwfile="+pwfile,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"--no-locale", "-E", "UTF8",
		"--no-sync",
	)
	cmd.Dir = c.root
	cmd.SysProcAttr = owner.attr()
	cmd.Env = serverEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (c *Cluster) settings() []string {
	s := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(c.port),
		"unix_socket_directories": c.socketDir(),
		"wal_level":               "logical",
		"max_replication_slots":   "32",
		"max_wal_senders":         "32",
		"max_connections":         "300",
		"shared_buffers":          "128MB",
		"logging_collector":       "off",
	}
	if !c.cfg.Durable {
		// synchronous_commit stays on: walsenders only ship flushed WAL, so
		// an asynchronous commit would delay change data capture.
		s["fsync"] = "off"
		s["full_page_writes"] = "off"
	}
	for k, v := range c.cfg.Settings {
		s[k] = v
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, "-c", k+"="+s[k])
	}
	return args
}

func (c *Cluster) start(ctx context.Context, bindir string, owner osUser, dataDir string) error {
	logPath := filepath.Join(c.root, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	logStart, _ := logFile.Seek(0, io.SeekEnd)

	// A previous crash (kill -9 of the whole process group) can leave a
	// stale postmaster.pid; postgres itself checks whether that process is
	// still alive, so it is safe to let it decide.
	args := append([]string{"-D", dataDir}, c.settings()...)
	cmd := exec.Command(filepath.Join(bindir, "postgres"), args...)
	cmd.Dir = c.root
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = serverEnv()
	attr := owner.attr()
	// Own process group: a Ctrl-C in the terminal reaches our process, which
	// then stops the server in order. Pdeathsig: if we die, the server does a
	// fast shutdown instead of lingering.
	attr.Setpgid = true
	attr.Pdeathsig = syscall.SIGINT
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgconn.Connect(ctx, c.DSN("postgres")+"&connect_timeout=2")
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("pgcluster: postgres exited during start-up (%v): %s", c.waitErr, tail(logPath, logStart))
		case <-ctx.Done():
			c.kill()
			return fmt.Errorf("pgcluster: waiting for postgres: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("pgcluster: postgres not accepting connections after 60s: %s", tail(logPath, logStart))
		}
	}
}

func (c *Cluster) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// Pid is the postmaster's process id.
func (c *Cluster) Pid() int { return c.cmd.Process.Pid }

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Dir is the directory holding the cluster (data/ and postgres.log).
func (c *Cluster) Dir() string { return c.root }

// maxSocketPath is the longest socket path the kernel takes (sun_path holds
// 108 bytes with its terminating NUL).
const maxSocketPath = 107

// socketDir is the directory of the server's Unix-domain socket: the
// cluster's own directory, which only the server's OS user (and root) may
// enter. It is "" when the socket's path would be too long for the kernel,
// and then the server listens on TCP alone.
func (c *Cluster) socketDir() string {
	if len(filepath.Join(c.root, ".s.PGSQL."+strconv.Itoa(c.port))) > maxSocketPath {
		return ""
	}
	return c.root
}

// SocketDir is the directory of the Unix-domain socket the server listens
// on beside TCP, or "" when it has none (a directory too deep for a socket
// path).
func (c *Cluster) SocketDir() string { return c.socketDir() }

// DSN returns a URL connection string for database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return c.DSNFor(c.cfg.Superuser, c.cfg.Password, db)
}

// DSNFor returns a URL connection string for database db as the given role.
func (c *Cluster) DSNFor(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// LocalDSNFor returns a URL connection string for database db as the given
// role for a client on this machine: through the server's Unix-domain
// socket when it has one, which spares both sides the loopback TCP stack on
// every round trip, and DSNFor's TCP address otherwise. The role needs a
// "local" rule in the server's access rules (Config.HBA).
func (c *Cluster) LocalDSNFor(user, password, db string) string {
	dir := c.socketDir()
	if dir == "" {
		return c.DSNFor(user, password, db)
	}
	q := url.Values{"host": {dir}, "port": {strconv.Itoa(c.port)}, "sslmode": {"disable"}}
	// Encode writes a space as "+", which libpq and pgx read as a plus.
	raw := strings.ReplaceAll(q.Encode(), "+", "%20")
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Path: "/" + db, RawQuery: raw}
	return u.String()
}

// CreateDatabase creates database name, copied from template (template1
// when empty). It is a no-op when the database exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	if template == "" {
		template = "template1"
	}
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if exists {
		return nil
	}
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, first dropping the replication slots
// that live in it (they would block the drop) and disconnecting its sessions.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	defer conn.Close(ctx)
	const dropSlots = `
SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL;`
	if _, err := conn.Exec(ctx, dropSlots, name); err != nil {
		return fmt.Errorf("pgcluster: stop walsenders: %w", err)
	}
	// A terminated walsender releases its slot asynchronously; retry briefly.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, name)
		if err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("pgcluster: drop slots of %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgcluster: drop database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown, then kill after a grace
// period) and removes the cluster's files when they live in a temporary
// directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.kill()
			c.stopErr = errors.New("pgcluster: postgres did not stop within 30s; killed")
		}
		if c.temp {
			if err := os.RemoveAll(c.root); err != nil && c.stopErr == nil {
				c.stopErr = fmt.Errorf("pgcluster: remove %s: %w", c.root, err)
			}
		}
	})
	return c.stopErr
}

// Exited is closed when the server process has exited, for whatever reason.
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

// FindBinDir returns the directory holding initdb and postgres: from PATH,
// from pg_config --bindir, or the newest /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Prefer the real installation directory over a directory of
		// symlinks (e.g. /usr/local/bin), so sibling tools such as
		// pg_recvlogical are found next to the server too.
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgcluster: %w; %s", ErrNoBinaries, installHint)
}

func versionOf(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverEnv is the environment of initdb and postgres: ours, minus variables
// that would point libpq-based tools at another server.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// tail returns the end of the server log written since offset, to explain a
// failed start.
func tail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return "(no server log)"
	}
	b = b[offset:]
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
