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

// Repo is the import path prefix of this repository's modules.
const Repo = "github.com/outboxcdc/outboxcdc/"

// Infrastructure is what a domain package must not reach: the database
// driver, the HTTP framework, the Kafka client and the shared libraries
// built on them.
var Infrastructure = []string{
	"github.com/jackc/pgx", "github.com/labstack/echo", "github.com/twmb/franz-go", Repo + "libs",
}

// HTTP are packages that speak HTTP (or RPC over it).
var HTTP = []string{
	"net/http", "net/rpc", "google.golang.org/grpc", "github.com/labstack/echo",
	"github.com/go-resty/resty", "github.com/imroc/req", "github.com/valyala/fasthttp",
	"github.com/hashicorp/go-retryablehttp", Repo + "libs/httpserver",
}

// Libraries are this repository's shared libraries. The handler rule does
// not follow their imports: they may use net/http types (trace context
// propagation does) without making a handler that uses them speak HTTP.
var Libraries = []string{Repo + "libs"}

// Deployables are the prefixes of code that is built into a binary of its
// own and must not be compiled into another one.
var Deployables = []string{Repo + "services", Repo + "connectors", Repo + "compose"}

// Rules names the layers of one module. Empty fields switch their rule off.
type Rules struct {
	// Module is the module's import path; only its packages are checked.
	Module string
	// Domain is the domain package; the packages below it belong to it.
	Domain string
	// DomainMayImport are the non-standard packages (and those below them)
	// the domain may import besides itself.
	DomainMayImport []string
	// Infrastructure is what the domain must not reach, even transitively.
	// A package DomainMayImport names is exempt, but not what it reaches.
	Infrastructure []string
	// Handlers is the event handler package.
	Handlers string
	// HTTP is what the handlers must not reach, even transitively.
	HTTP []string
	// Opaque are packages whose imports the handler rule does not follow;
	// importing one that is itself in HTTP still counts.
	Opaque []string
	// Adapters import the domain and never each other.
	Adapters []string
	// Deployables are prefixes no package of Module may depend on, apart
	// from Module itself.
	Deployables []string
}

// DomainLibraries are the packages outside the standard library a
// service's domain may import: the event schemas, the shared validation
// error (standard library only) and UUIDs.
var DomainLibraries = []string{Repo + "schemas", Repo + "libs/validation", "github.com/google/uuid"}

// Service returns the rules of a service module laid out the way every
// service of this repository is: the domain at module/domain (for example
// "internal/payment"), the adapters internal/postgres, internal/httpapi and
// internal/kafkaapi, the last also being the event handlers, and the domain
// free to import DomainLibraries.
func Service(module, domain string) Rules {
	return Rules{
		Module:          module,
		Domain:          module + "/" + domain,
		DomainMayImport: slices.Clone(DomainLibraries),
		Infrastructure:  Infrastructure,
		Handlers:        module + "/internal/kafkaapi",
		HTTP:            HTTP,
		Opaque:          Libraries,
		Adapters:        []string{module + "/internal/postgres", module + "/internal/httpapi", module + "/internal/kafkaapi"},
		Deployables:     Deployables,
	}
}

// Package is the part of `go list -json` output the rules read.
type Package struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// Graph maps import paths to packages.
type Graph map[string]Package

// within reports whether path is prefix or a package below it.
func within(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func withinAny(path string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return within(path, p) })
}

// Violations applies r to the packages of r.Module in g and returns one
// sorted line per breach.
func Violations(r Rules, g Graph) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, p := range g {
		if !within(p.ImportPath, r.Module) {
			continue
		}
		for _, d := range p.Deps {
			if withinAny(d, r.Deployables) && !within(d, r.Module) {
				add("%s depends on %s: another deployable's code", p.ImportPath, d)
			}
		}
		if r.Domain != "" && within(p.ImportPath, r.Domain) {
			for _, i := range p.Imports {
				if !g[i].Standard && !within(i, r.Domain) && !withinAny(i, r.DomainMayImport) {
					add("%s imports %s: the domain imports only the standard library, %s and itself",
						p.ImportPath, i, strings.Join(r.DomainMayImport, ", "))
				}
			}
			for _, d := range p.Deps {
				if withinAny(d, r.Infrastructure) && !withinAny(d, r.DomainMayImport) {
					add("%s depends on %s: the domain must not reach infrastructure", p.ImportPath, d)
				}
			}
		}
		if r.Handlers != "" && within(p.ImportPath, r.Handlers) {
			for _, d := range reaches(g, p.ImportPath, r.HTTP, r.Opaque) {
				add("%s depends on %s: event handlers must not speak HTTP", p.ImportPath, d)
			}
		}
		if own := adapterOf(p.ImportPath, r.Adapters); own != "" {
			for _, i := range p.Imports {
				if other := adapterOf(i, r.Adapters); other != "" && other != own {
					add("%s imports %s: adapters must not import each other", p.ImportPath, i)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// reaches returns the packages within targets that from imports, directly
// or through other packages, without following the imports of a target or
// of a package within opaque.
func reaches(g Graph, from string, targets, opaque []string) []string {
	var out []string
	seen := map[string]bool{from: true}
	queue := slices.Clone(g[from].Imports)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		switch {
		case withinAny(p, targets):
			out = append(out, p)
		case !withinAny(p, opaque):
			queue = append(queue, g[p].Imports...)
		}
	}
	return out
}

// adapterOf returns the adapter path belongs to, or "".
func adapterOf(path string, adapters []string) string {
	for _, a := range adapters {
		if within(path, a) {
			return a
		}
	}
	return ""
}

// Load lists the packages of module (test files included) and everything
// they depend on. A test variant ("p [p.test]") is merged into p: test
// files obey the rules of the package they belong to. Imports and Deps
// name the packages without their test variant suffix.
func Load(t testing.TB, module string) Graph {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("archtest: the go command is needed to read the import graph: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), gobin, "list", "-deps", "-test", "-json=ImportPath,Standard,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("archtest: go list: %v\n%s", err, stderr.String())
	}
	g, err := decode(out)
	if err != nil {
		t.Fatalf("archtest: %v", err)
	}
	return g
}

func decode(out []byte) (Graph, error) {
	g := Graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return g, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		// A package rebuilt for a test is listed as "p [q.test]"; the rules
		// see it as p.
		p.ImportPath = plain(p.ImportPath)
		for i := range p.Imports {
			p.Imports[i] = plain(p.Imports[i])
		}
		for i := range p.Deps {
			p.Deps[i] = plain(p.Deps[i])
		}
		if prev, ok := g[p.ImportPath]; ok {
			p.Imports = append(p.Imports, prev.Imports...)
			p.Deps = append(p.Deps, prev.Deps...)
		}
		g[p.ImportPath] = p
	}
}

func plain(path string) string {
	path, _, _ = strings.Cut(path, " ")
	return path
}

// Check loads r.Module's graph and fails t with every breach of r. It
// first makes sure the layers r names exist, since a rule about a package
// that is not there proves nothing.
func Check(t testing.TB, r Rules) {
	t.Helper()
	g := Load(t, r.Module)
	if m := missing(r, g); len(m) > 0 {
		t.Fatalf("archtest: packages missing from the import graph of %s: %s", r.Module, strings.Join(m, ", "))
	}
	for _, v := range Violations(r, g) {
		t.Error(v)
	}
}

// missing returns the layers r names that g does not hold.
func missing(r Rules, g Graph) []string {
	var out []string
	for _, p := range append([]string{r.Domain, r.Handlers}, r.Adapters...) {
		if _, ok := g[p]; p != "" && !ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
