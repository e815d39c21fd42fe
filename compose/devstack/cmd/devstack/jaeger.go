package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/jaeger"
	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
	"github.com/outboxcdc/outboxcdc/libs/program"
)

// The stack's tracing backend: Jaeger v2 with in-memory storage, started
// before everything else and stopped after everything else, so it hears
// the services' last spans. JAEGER=off leaves it out, and then nothing
// tells the services where to send spans.

// otelBatchDelay is the services' span batching delay (OTEL_BSP_SCHEDULE_DELAY,
// milliseconds): short, so a trace shows up in Jaeger while one looks for it.
const otelBatchDelay = "200"

// jaegerPorts is where the stack's Jaeger listens.
func (c config) jaegerPorts() stackstate.Jaeger {
	return stackstate.Jaeger{QueryPort: c.jaegerPort, OTLPPort: c.jaegerOTLPPort}
}

// otelEnv is the environment that sends a service's spans to the stack's
// Jaeger; nil without Jaeger.
func (c config) otelEnv() []string {
	if !c.withJaeger {
		return nil
	}
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + c.jaegerPorts().OTLPEndpoint(),
		"OTEL_BSP_SCHEDULE_DELAY=" + otelBatchDelay,
	}
}

// jaegerEndpoint is the endpoints line for Jaeger; "" without it.
func (c config) jaegerEndpoint() string {
	if !c.withJaeger {
		return ""
	}
	j := c.jaegerPorts()
	return fmt.Sprintf("  jaeger     %s (query API /api/traces; OTLP/HTTP %s)\n", j.QueryURL(), j.OTLPEndpoint())
}

// jaegerBinary returns the Jaeger binary, building it from tools/jaeger
// the first time this machine needs it.
func jaegerBinary(ctx context.Context, root string, log *slog.Logger) (string, error) {
	return jaeger.Binary(ctx, jaeger.BuildConfig{Module: filepath.Join(root, "tools", "jaeger"), Log: log})
}

// startJaeger writes Jaeger's configuration into the state directory,
// starts bin under the supervisor with env added to its environment and
// returns its pid once the query API answers.
func startJaeger(ctx context.Context, cfg config, bin string, sup *supervisor, out *lineWriter, logJSON bool, env []string) (int, error) {
	j := cfg.jaegerPorts()
	yaml, err := jaeger.Config{
		QueryPort: j.QueryPort, OTLPPort: j.OTLPPort,
		LogLevel: jaegerLogLevel(cfg.logLevel), LogJSON: logJSON,
	}.YAML()
	if err != nil {
		return 0, err
	}
	path := filepath.Join(cfg.dir, "jaeger.yaml")
	if err := os.WriteFile(path, yaml, 0o644); err != nil {
		return 0, fmt.Errorf("jaeger: %w", err)
	}
	pid, err := sup.supervise("jaeger", command(out, "jaeger", bin, env, "--config", "file:"+path))
	if err != nil {
		return 0, err
	}
	if err := waitHTTP(ctx, sup, j.QueryURL()+"/api/services", time.Minute); err != nil {
		return 0, fmt.Errorf("jaeger: %w", err)
	}
	return pid, nil
}

// jaegerLogLevel maps LOG_LEVEL to Jaeger's: its info is a page of start-up
// lines, so our info is its warn.
func jaegerLogLevel(level string) string {
	switch strings.ToLower(level) {
	case "debug":
		return "info"
	case "error":
		return "error"
	default:
		return "warn"
	}
}

// childLogsJSON reports whether the stack's processes log JSON: unless
// LOG_FORMAT says otherwise, text on a terminal and JSON elsewhere (see
// childLogFormat).
func childLogsJSON(getenv func(string) string, stdout io.Writer) bool {
	format := getenv("LOG_FORMAT")
	if format == "" && program.IsTerminal(stdout) {
		format = program.LogText
	}
	return format != program.LogText
}

// printJaegerBinary builds Jaeger when needed and prints its path
// (`devstack jaeger`, make jaeger).
func printJaegerBinary(ctx context.Context, stdout io.Writer) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	start := time.Now()
	bin, err := jaegerBinary(ctx, root, log)
	if err != nil {
		return err
	}
	if d := time.Since(start); d > time.Second {
		log.Info("Jaeger built", "took", d.Round(time.Second).String())
	}
	_, err = fmt.Fprintln(stdout, bin)
	return err
}
