package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/relay"
)

// config is the program's configuration, from flags and environment
// variables named like the Debezium Connect image's.
type config struct {
	Listen          string
	Brokers         []string
	ConfigTopic     string
	LogLevel        slog.Level
	LogFormat       string // program.LogJSON, program.LogText or "" (text on a terminal)
	Worker          map[string]string
	WorkerID        string
	ShutdownTimeout time.Duration
	StartTimeout    time.Duration
	// Pprof serves net/http/pprof under /debug/pprof/ on the REST
	// listener.
	Pprof bool
	// HTTPTimeouts bound each REST connection.
	HTTPTimeouts relay.HTTPTimeouts
	// CredentialsFile names the file of REST users ("user: password"
	// lines); empty leaves the REST API open (it binds to 127.0.0.1 by
	// default).
	CredentialsFile string
	// AllowedHosts restricts where configs with ${...} references may point.
	AllowedHosts []string
}

// loadConfig reads flags over environment variables over defaults.
//
// Environment (as in quay.io/debezium/connect):
//
//	BOOTSTRAP_SERVERS       broker list (default 127.0.0.1:9092)
//	REST_HOST_NAME          address to listen on (default 127.0.0.1)
//	REST_PORT               port to listen on (default 8083)
//	CONFIG_STORAGE_TOPIC    connector config topic (default connect_configs)
//	KEY_CONVERTER, VALUE_CONVERTER, HEADER_CONVERTER
//	                        worker converter defaults
//	CONNECT_<NAME>          worker property <name> with _ as . (lower case),
//	                        e.g. CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE
//	LOG_LEVEL               debug, info (default), warn, error
//	LOG_FORMAT              json or text (default: text on a terminal, else JSON)
//	WALRELAY_PPROF          true serves /debug/pprof/ (default false)
//	WALRELAY_HTTP_READ_HEADER_TIMEOUT, WALRELAY_HTTP_READ_TIMEOUT,
//	WALRELAY_HTTP_WRITE_TIMEOUT, WALRELAY_HTTP_IDLE_TIMEOUT
//	                        REST connection timeouts, Go durations
//	                        (defaults 5s, 30s, 60s, 2m)
//	WALRELAY_ALLOWED_HOSTS  comma-separated database hosts a config that uses
//	                        ${...} references may name (default: any)
//	WALRELAY_REST_CREDENTIALS_FILE
//	                        "user: password" lines; when set, the REST API
//	                        requires HTTP basic authentication
//
// GROUP_ID, OFFSET_STORAGE_TOPIC and STATUS_STORAGE_TOPIC are accepted and
// unused: one worker needs no group, and the slot is the resume point.
func loadConfig(args []string, lookup func(string) (string, bool), environ []string, stderr io.Writer) (config, error) {
	env := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	cfg := config{Worker: map[string]string{}}

	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "CONNECT_"); ok && name != "" {
			cfg.Worker[strings.ReplaceAll(strings.ToLower(name), "_", ".")] = v
		}
	}
	for envName, prop := range map[string]string{
		"KEY_CONVERTER":                     "key.converter",
		"VALUE_CONVERTER":                   "value.converter",
		"HEADER_CONVERTER":                  "header.converter",
		"CONFIG_STORAGE_REPLICATION_FACTOR": "config.storage.replication.factor",
	} {
		if v := env(envName, ""); v != "" {
			cfg.Worker[prop] = v
		}
	}

	fs := flag.NewFlagSet("walrelay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", net.JoinHostPort(env("REST_HOST_NAME", "127.0.0.1"), env("REST_PORT", "8083")),
		"REST API and /metrics address (env REST_HOST_NAME, REST_PORT)")
	brokers := fs.String("bootstrap-servers", env("BOOTSTRAP_SERVERS", cfg.Worker["bootstrap.servers"]),
		"comma-separated Kafka bootstrap servers (env BOOTSTRAP_SERVERS)")
	topic := fs.String("config-topic", env("CONFIG_STORAGE_TOPIC", "connect_configs"),
		"compacted topic holding connector configs (env CONFIG_STORAGE_TOPIC)")
	level := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", env("LOG_FORMAT", ""), "json or text (env LOG_FORMAT; default text on a terminal, else JSON)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a stopping task may flush")
	fs.DurationVar(&cfg.StartTimeout, "start-timeout", 2*time.Minute, "how long to wait for the broker at start")
	pprofDefault, err := strconv.ParseBool(env("WALRELAY_PPROF", "false"))
	if err != nil {
		return config{}, fmt.Errorf("WALRELAY_PPROF: %w", err)
	}
	fs.BoolVar(&cfg.Pprof, "pprof", pprofDefault, "serve Go profiles under /debug/pprof/ on the REST listener (env WALRELAY_PPROF)")
	for _, d := range []struct {
		flag, env string
		into      *time.Duration
		def       time.Duration
	}{
		{"http-read-header-timeout", "WALRELAY_HTTP_READ_HEADER_TIMEOUT", &cfg.HTTPTimeouts.ReadHeader, relay.DefaultHTTPTimeouts.ReadHeader},
		{"http-read-timeout", "WALRELAY_HTTP_READ_TIMEOUT", &cfg.HTTPTimeouts.Read, relay.DefaultHTTPTimeouts.Read},
		{"http-write-timeout", "WALRELAY_HTTP_WRITE_TIMEOUT", &cfg.HTTPTimeouts.Write, relay.DefaultHTTPTimeouts.Write},
		{"http-idle-timeout", "WALRELAY_HTTP_IDLE_TIMEOUT", &cfg.HTTPTimeouts.Idle, relay.DefaultHTTPTimeouts.Idle},
	} {
		def := d.def
		if v := env(d.env, ""); v != "" {
			if def, err = time.ParseDuration(v); err != nil || def <= 0 {
				return config{}, fmt.Errorf("%s: %q is not a positive Go duration", d.env, v)
			}
		}
		fs.DurationVar(d.into, d.flag, def, "REST connection timeout (env "+d.env+")")
	}
	fs.StringVar(&cfg.CredentialsFile, "rest-credentials-file", env("WALRELAY_REST_CREDENTIALS_FILE", ""),
		"file of \"user: password\" lines the REST API requires (HTTP basic auth; env WALRELAY_REST_CREDENTIALS_FILE)")
	allowed := fs.String("allowed-hosts", env("WALRELAY_ALLOWED_HOSTS", ""),
		"comma-separated database hosts a config with ${...} references may name (env WALRELAY_ALLOWED_HOSTS; default any)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	cfg.Listen = *listen
	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil {
		return config{}, fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	} else if _, err := strconv.Atoi(port); err != nil {
		return config{}, fmt.Errorf("listen port %q: %w", port, err)
	}
	if *brokers == "" {
		*brokers = "127.0.0.1:9092"
	}
	for _, b := range strings.Split(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.Brokers = append(cfg.Brokers, b)
		}
	}
	cfg.ConfigTopic = *topic
	for _, h := range strings.Split(*allowed, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.AllowedHosts = append(cfg.AllowedHosts, h)
		}
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(strings.ToLower(*level))); err != nil {
		return config{}, fmt.Errorf("log level %q: %w", *level, err)
	}
	// worker_id in statuses: the advertised address when one is set.
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if h := cfg.Worker["rest.advertised.host.name"]; h != "" {
		host = h
	}
	if p := cfg.Worker["rest.advertised.port"]; p != "" {
		port = p
	}
	cfg.WorkerID = net.JoinHostPort(host, port)
	return cfg, nil
}

// environ is os.Environ, a variable for tests of the program.
var environ = os.Environ
