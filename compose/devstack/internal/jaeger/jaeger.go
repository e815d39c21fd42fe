// Package jaeger provides the dev stacks' tracing backend: a Jaeger v2
// binary built from the repository's tools/jaeger module, and the
// configuration that runs it as an all-in-one with in-memory storage on
// chosen ports.
//
// Guarantees:
//   - Binary builds Jaeger at most once per content of tools/jaeger's go.mod
//     and go.sum (and platform), into a cache directory outside the source
//     tree; later calls, and other processes, reuse it. Concurrent callers
//     (parallel test binaries, two stacks) wait for one build under a file
//     lock, and the binary appears under its final name only complete (built
//     to a temporary name, then renamed), so a caller never runs half a file.
//   - Before a build, which takes minutes, Binary logs one line saying so.
//   - Config.YAML makes Jaeger listen on exactly two fixed ports, both on
//     127.0.0.1: the query API and UI (QueryPort) and OTLP over HTTP
//     (OTLPPort). Its query gRPC API, which cannot be switched off, takes a
//     port the kernel picks; every other listener of Jaeger's defaults (OTLP
//     gRPC, Jaeger and Zipkin receivers, sampling, health check, its own
//     metrics) is left out, so a stack on other ports runs beside one on the
//     defaults.
package jaeger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/outboxcdc/outboxcdc/testkit/sharedcache"
)

// Default ports, as Jaeger's own all-in-one uses them.
const (
	DefaultQueryPort = 16686
	DefaultOTLPPort  = 4318
)

// Package is what `go build` builds in the tools/jaeger module.
const Package = "github.com/jaegertracing/jaeger/cmd/jaeger"

// BuildConfig says which module to build and where the binary is kept.
type BuildConfig struct {
	// Module is the tools/jaeger directory (go.mod with the tool directive).
	Module string
	// CacheDir holds one directory per module content; empty means
	// DefaultCacheDir().
	CacheDir string
	// Log hears the line announcing a build; nil discards it.
	Log *slog.Logger

	// build compiles the module's Jaeger into out; nil means goBuild.
	build func(ctx context.Context, module, out string) error
}

// DefaultCacheDir is $OUTBOXCDC_JAEGER_CACHE, else
// $XDG_CACHE_HOME/outboxcdc/jaeger, else ~/.cache/outboxcdc/jaeger: beside
// the JVM stack's jars, outside the repository, so it survives make
// dev-reset and is shared by every checkout and test run of the machine.
func DefaultCacheDir() string { return sharedcache.Dir("jaeger", "OUTBOXCDC_JAEGER_CACHE") }

// Binary returns the path of the Jaeger binary built from cfg.Module,
// building it first when this content of the module has not been built on
// this machine yet.
func Binary(ctx context.Context, cfg BuildConfig) (string, error) {
	gomod, err := os.ReadFile(filepath.Join(cfg.Module, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("jaeger: %w", err)
	}
	gosum, err := os.ReadFile(filepath.Join(cfg.Module, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("jaeger: %w", err)
	}
	cache := cfg.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	dir := filepath.Join(cache, cacheKey(gomod, gosum))
	bin := filepath.Join(dir, "jaeger")
	if built(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("jaeger: %w", err)
	}
	unlock, err := sharedcache.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if built(bin) { // another process built it while we waited
		return bin, nil
	}
	if cfg.Log != nil {
		cfg.Log.Info(fmt.Sprintf("building Jaeger %s once (several minutes on 2 cores); JAEGER=off skips it", Version(gomod)),
			"into", bin)
	}
	build := cfg.build
	if build == nil {
		build = goBuild
	}
	tmp := bin + ".partial"
	if err := build(ctx, cfg.Module, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("jaeger: %w", err)
	}
	return bin, nil
}

// cacheKey names a build: the module's content and the platform.
func cacheKey(gomod, gosum []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{gomod, gosum, []byte(runtime.GOOS + "/" + runtime.GOARCH)} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// built reports whether bin is a complete build: only a finished build is
// ever renamed to that name.
func built(bin string) bool {
	fi, err := os.Stat(bin)
	return err == nil && fi.Mode().IsRegular()
}

var jaegerRequire = regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/jaegertracing/jaeger\s+(v\S+)`)

// Version is the Jaeger module version a go.mod requires ("v1.75.0"), or
// "(version unknown)".
func Version(gomod []byte) string {
	if m := jaegerRequire.FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	return "(version unknown)"
}

// goBuild compiles Jaeger with the module's own versions: GOWORK=off,
// since tools/jaeger lies under the workspace root without being one of
// its modules, and -mod=readonly, so go.sum is checked, never rewritten.
func goBuild(ctx context.Context, module, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, Package)
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("jaeger: GOWORK=off go build %s in %s: %w\n%s", Package, module, err, tail(output.Bytes(), 4000))
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Config is one Jaeger of a stack.
type Config struct {
	QueryPort int // query API (/api/services, /api/traces) and UI
	OTLPPort  int // OTLP over HTTP (/v1/traces)
	// MaxTraces caps the traces kept in memory, oldest dropped first; 0
	// means 10000 (tens of MB for the saga's traces).
	MaxTraces int
	// LogLevel is Jaeger's own level: debug, info, warn or error; empty
	// means warn.
	LogLevel string
	// LogJSON makes Jaeger log JSON lines instead of console text.
	LogJSON bool
}

// ErrPorts is returned (wrapped) by YAML for ports out of range or equal.
var ErrPorts = errors.New("jaeger: want two different ports between 1 and 65535")

// YAML returns the configuration Jaeger runs with (jaeger --config
// file:<path>): the OTLP/HTTP receiver, in-memory storage and the query
// API on 127.0.0.1, no other fixed port, no telemetry of its own.
func (c Config) YAML() ([]byte, error) {
	if c.QueryPort < 1 || c.QueryPort > 65535 || c.OTLPPort < 1 || c.OTLPPort > 65535 || c.QueryPort == c.OTLPPort {
		return nil, fmt.Errorf("%w (query %d, OTLP %d)", ErrPorts, c.QueryPort, c.OTLPPort)
	}
	maxTraces := c.MaxTraces
	if maxTraces <= 0 {
		maxTraces = 10000
	}
	level := c.LogLevel
	if level == "" {
		level = "warn"
	}
	encoding := "console"
	if c.LogJSON {
		encoding = "json"
	}
	return fmt.Appendf(nil, configTemplate, level, encoding, maxTraces, c.QueryPort, c.OTLPPort), nil
}

// configTemplate is Jaeger's all-in-one (cmd/jaeger/internal/all-in-one.yaml
// of the module) cut down to what a dev stack uses. Left out: the OTLP gRPC,
// Jaeger and Zipkin receivers, remote sampling, the health check, expvar
// and zpages extensions, and the collector's Prometheus metrics (8888).
// The query extension's gRPC API cannot be left out, so it listens on a
// port the kernel picks; its self-tracing (on by default in v2, exporting
// to localhost:4317) is off.
const configTemplate = `# Written by devstack at every start of Jaeger; edits are lost.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: %s
      encoding: %s

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: %d
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:0

receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`
