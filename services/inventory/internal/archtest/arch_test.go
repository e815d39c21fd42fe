// Package archtest checks the module's import rules against the package
// graph `go list -deps -json` reports.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	module   = "github.com/outboxcdc/outboxcdc/services/inventory"
	domain   = module + "/internal/inventory"
	services = "github.com/outboxcdc/outboxcdc/services/"
)

// pkg is the part of `go list -json` output the rules read.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// adapters import the domain, never each other.
var adapters = []string{module + "/internal/postgres", module + "/internal/httpapi", module + "/internal/events"}

// infrastructure the domain must not reach, directly or transitively.
var infrastructure = []string{"github.com/jackc/pgx", "github.com/labstack/echo", "github.com/twmb/franz-go", "github.com/outboxcdc/outboxcdc/libs"}

// httpPackages are what the event handlers must not import: they react to
// events and never call another service.
var httpPackages = []string{
	"net/http", "github.com/labstack/echo", "github.com/go-resty/resty", "github.com/imroc/req",
	"github.com/valyala/fasthttp", "github.com/hashicorp/go-retryablehttp", module + "/internal/httpapi",
}

func hasPrefix(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") })
}

// violations applies the rules to the module's packages (with their deps
// listed in all) and describes every breach.
func violations(all map[string]pkg) []string {
	var out []string
	for _, p := range all {
		if p.ImportPath != module && !strings.HasPrefix(p.ImportPath, module+"/") {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, services) && d != module && !strings.HasPrefix(d, module+"/") {
				out = append(out, p.ImportPath+" depends on another service: "+d)
			}
		}
		switch {
		case p.ImportPath == domain || strings.HasPrefix(p.ImportPath, domain+"/"):
			for _, d := range p.Deps {
				if hasPrefix(d, infrastructure) {
					out = append(out, p.ImportPath+" (domain) depends on "+d)
				}
			}
			for _, i := range p.Imports {
				if std := all[i].Standard; !std && !strings.HasPrefix(i, "github.com/outboxcdc/outboxcdc/schemas") && !strings.HasPrefix(i, domain) {
					out = append(out, p.ImportPath+" (domain) imports "+i+", which is neither the standard library nor schemas")
				}
			}
		case hasPrefix(p.ImportPath, adapters):
			for _, i := range p.Imports {
				if hasPrefix(i, adapters) {
					out = append(out, p.ImportPath+" imports the adapter "+i)
				}
			}
		}
		if hasPrefix(p.ImportPath, []string{module + "/internal/events"}) {
			for _, i := range p.Imports {
				if hasPrefix(i, httpPackages) {
					out = append(out, p.ImportPath+" (event handlers) imports "+i)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func goList(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-test", "-json=ImportPath,Standard,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	all := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		// Test variants ("p [p.test]") obey the same rules as p.
		p.ImportPath, _, _ = strings.Cut(p.ImportPath, " ")
		if prev, ok := all[p.ImportPath]; ok {
			p.Imports = append(p.Imports, prev.Imports...)
			p.Deps = append(p.Deps, prev.Deps...)
		}
		all[p.ImportPath] = p
	}
	if _, ok := all[domain]; !ok {
		t.Fatalf("go list did not report %s", domain)
	}
	return all
}

func TestImportRules(t *testing.T) {
	if v := violations(goList(t)); len(v) > 0 {
		t.Fatalf("import rules broken:\n%s", strings.Join(v, "\n"))
	}
}

// TestRulesCatchViolations feeds the rules a graph that breaks each of
// them, so a rule that silently stopped matching would show here.
func TestRulesCatchViolations(t *testing.T) {
	all := map[string]pkg{
		"fmt":      {ImportPath: "fmt", Standard: true},
		"net/http": {ImportPath: "net/http", Standard: true},
		domain: {ImportPath: domain, Imports: []string{"fmt", "example.com/helper"},
			Deps: []string{"example.com/helper", "github.com/jackc/pgx/v5"}},
		module + "/internal/events": {ImportPath: module + "/internal/events",
			Imports: []string{"net/http", module + "/internal/postgres"}},
		module + "/app": {ImportPath: module + "/app", Deps: []string{services + "order/internal/order"}},
	}
	want := []string{
		domain + " (domain) depends on github.com/jackc/pgx/v5",
		domain + " (domain) imports example.com/helper, which is neither the standard library nor schemas",
		module + "/app depends on another service: " + services + "order/internal/order",
		module + "/internal/events (event handlers) imports net/http",
		module + "/internal/events imports the adapter " + module + "/internal/postgres",
	}
	slices.Sort(want)
	if got := violations(all); !slices.Equal(got, want) {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
