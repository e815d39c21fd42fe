package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	repo   = "github.com/outboxcdc/outboxcdc/"
	module = repo + "services/order"
	domain = module + "/internal/order"
	events = module + "/internal/events"
)

// adapters import the domain, never each other.
var adapters = []string{module + "/internal/postgres", module + "/internal/httpapi", events}

// infrastructure the domain must not reach, even through another package.
var infrastructure = []string{"github.com/jackc/pgx", "github.com/labstack/echo", "github.com/twmb/franz-go"}

// httpClients are packages that speak HTTP (or RPC over it): the event
// handlers must not call other services synchronously.
var httpClients = []string{"net/http", "net/rpc", "google.golang.org/grpc", "github.com/go-resty/resty",
	"github.com/hashicorp/go-retryablehttp", "github.com/valyala/fasthttp"}

// pkg is the part of `go list -json` output the rules read.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// within reports whether path is prefix or a package below it.
func within(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func withinAny(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return within(path, p) })
}

// violations checks the rules against the import graph of the module's
// packages (keyed by import path) and returns one line per broken rule.
func violations(pkgs map[string]pkg) []string {
	var out []string
	for _, p := range pkgs {
		if !within(p.ImportPath, module) {
			continue
		}
		// No other service's (or connector's, or tool's) code.
		for _, d := range p.Deps {
			if within(d, repo+"services") && !within(d, module) || within(d, repo+"connectors") || within(d, repo+"compose") {
				out = append(out, fmt.Sprintf("%s depends on %s, another deployable's code", p.ImportPath, d))
			}
		}
		switch {
		case within(p.ImportPath, domain):
			for _, d := range p.Imports {
				if !pkgs[d].Standard && !within(d, repo+"schemas") && !within(d, domain) {
					out = append(out, fmt.Sprintf("%s imports %s: the domain imports only the standard library and schemas", p.ImportPath, d))
				}
			}
			for _, d := range p.Deps {
				if withinAny(d, infrastructure) {
					out = append(out, fmt.Sprintf("%s depends on %s: the domain must not reach infrastructure", p.ImportPath, d))
				}
			}
		case within(p.ImportPath, events):
			for _, d := range p.Deps {
				if withinAny(d, httpClients) {
					out = append(out, fmt.Sprintf("%s depends on %s: event handlers must not speak HTTP", p.ImportPath, d))
				}
			}
		}
		if slices.Contains(adapters, p.ImportPath) {
			for _, d := range p.Imports {
				if d != p.ImportPath && slices.Contains(adapters, d) {
					out = append(out, fmt.Sprintf("%s imports %s: adapters must not import each other", p.ImportPath, d))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// load lists the module's packages and everything they import.
func load(t *testing.T) map[string]pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the import graph: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), gobin, "list", "-deps", "-json=ImportPath,Standard,Imports,Deps", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(outb))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

func TestModuleImports(t *testing.T) {
	pkgs := load(t)
	// The rules only mean something if the layers are in the graph.
	for _, p := range append([]string{domain, module + "/app"}, adapters...) {
		if _, ok := pkgs[p]; !ok {
			t.Fatalf("package %s missing from go list output", p)
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations proves each rule fires on a graph that breaks
// it.
func TestRulesCatchViolations(t *testing.T) {
	std := func(path string) pkg { return pkg{ImportPath: path, Standard: true} }
	tests := []struct {
		name string
		pkgs []pkg
		want string
	}{
		{"another service", []pkg{{ImportPath: module + "/app", Deps: []string{repo + "services/payment/internal/payment"}}},
			"another deployable"},
		{"domain imports pgx", []pkg{{ImportPath: domain, Imports: []string{"github.com/jackc/pgx/v5"}, Deps: []string{"github.com/jackc/pgx/v5"}}},
			"only the standard library and schemas"},
		{"domain reaches echo through a helper", []pkg{
			{ImportPath: domain, Imports: []string{"strings"}, Deps: []string{"strings", "github.com/labstack/echo/v4"}},
			std("strings")}, "must not reach infrastructure"},
		{"domain reaches franz-go", []pkg{
			{ImportPath: domain + "/sub", Deps: []string{"github.com/twmb/franz-go/pkg/kgo"}}}, "must not reach infrastructure"},
		{"handlers import net/http", []pkg{{ImportPath: events, Imports: []string{"net/http"}, Deps: []string{"net/http"}}, std("net/http")},
			"must not speak HTTP"},
		{"handlers import an HTTP client transitively", []pkg{{ImportPath: events, Deps: []string{"github.com/go-resty/resty/v2"}}},
			"must not speak HTTP"},
		{"adapter imports adapter", []pkg{{ImportPath: events, Imports: []string{module + "/internal/postgres"}}},
			"adapters must not import each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graph := map[string]pkg{}
			for _, p := range tt.pkgs {
				graph[p.ImportPath] = p
			}
			got := violations(graph)
			if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, tt.want) }) {
				t.Fatalf("violations = %q, want one saying %q", got, tt.want)
			}
		})
	}
	clean := map[string]pkg{
		domain:      {ImportPath: domain, Imports: []string{"time", repo + "schemas/events"}, Deps: []string{"time", repo + "schemas/events"}},
		"time":      std("time"),
		events:      {ImportPath: events, Imports: []string{domain}, Deps: []string{domain, "github.com/jackc/pgx/v5"}},
		adapters[0]: {ImportPath: adapters[0], Imports: []string{domain, "github.com/jackc/pgx/v5"}},
	}
	if got := violations(clean); len(got) != 0 {
		t.Fatalf("a clean graph has violations: %q", got)
	}
}
