package archtest

import (
	"slices"
	"strings"
	"testing"
)

// breach is a made-up graph that breaks one rule, and the text the
// violation must contain.
type breach struct {
	name  string
	graph Graph
	want  string
}

func graphOf(pkgs ...Package) Graph {
	g := Graph{}
	for _, p := range pkgs {
		g[p.ImportPath] = p
	}
	return g
}

func std(path string) Package { return Package{ImportPath: path, Standard: true} }

// breaches builds, from r's own paths, one graph per way of breaking each
// rule r switches on.
func breaches(r Rules) []breach {
	var out []breach
	app := r.Module + "/app"
	for _, d := range r.Deployables {
		other := d + "/archtest-other/internal/x"
		if within(other, r.Module) {
			continue
		}
		out = append(out, breach{"depends on " + other,
			graphOf(Package{ImportPath: app, Imports: []string{other}, Deps: []string{other}}),
			"another deployable's code"})
	}
	if r.Domain != "" {
		for _, infra := range r.Infrastructure {
			out = append(out,
				breach{"domain imports " + infra,
					graphOf(Package{ImportPath: r.Domain, Imports: []string{infra}, Deps: []string{infra}}),
					"the domain imports only"},
				breach{"domain reaches " + infra + " through a helper",
					graphOf(Package{ImportPath: r.Domain + "/sub", Imports: []string{"strings"}, Deps: []string{"strings", infra}}, std("strings")),
					"the domain must not reach infrastructure"})
		}
		// An allowed package is exempt from the infrastructure rule, but
		// what it reaches is not.
		for _, m := range r.DomainMayImport {
			for _, infra := range r.Infrastructure {
				if within(m, infra) {
					continue
				}
				out = append(out, breach{"domain reaches " + infra + " through " + m,
					graphOf(Package{ImportPath: r.Domain, Imports: []string{m}, Deps: []string{m, infra}}, Package{ImportPath: m, Imports: []string{infra}}),
					"the domain must not reach infrastructure"})
				break
			}
		}
		out = append(out, breach{"domain imports a third-party package",
			graphOf(Package{ImportPath: r.Domain, Imports: []string{"example.com/helper"}, Deps: []string{"example.com/helper"}}),
			"the domain imports only"})
	}
	if r.Handlers != "" {
		for _, h := range r.HTTP {
			out = append(out,
				breach{"handlers import " + h,
					graphOf(Package{ImportPath: r.Handlers, Imports: []string{h}, Deps: []string{h}}),
					"event handlers must not speak HTTP"},
				breach{"handlers reach " + h + " through a helper",
					graphOf(Package{ImportPath: r.Handlers, Imports: []string{"example.com/helper"}, Deps: []string{"example.com/helper", h}},
						Package{ImportPath: "example.com/helper", Imports: []string{h}, Deps: []string{h}}),
					"event handlers must not speak HTTP"},
				breach{"handlers reach " + h + " through their own module",
					graphOf(Package{ImportPath: r.Handlers, Imports: []string{r.Module + "/internal/archtest-client"}},
						Package{ImportPath: r.Module + "/internal/archtest-client", Imports: []string{h}, Deps: []string{h}}),
					"event handlers must not speak HTTP"})
		}
	}
	for i, a := range r.Adapters {
		if len(r.Adapters) < 2 {
			break
		}
		b := r.Adapters[(i+1)%len(r.Adapters)]
		out = append(out, breach{a + " imports " + b,
			graphOf(Package{ImportPath: a, Imports: []string{b}, Deps: []string{b}}),
			"adapters must not import each other"})
	}
	return out
}

// clean is a graph that follows every rule of r.
func clean(r Rules) Graph {
	g := graphOf(std("time"), std("strings"))
	var appImports []string
	if r.Domain != "" {
		imports := []string{"time", r.Domain + "/sub"}
		for _, m := range r.DomainMayImport {
			imports = append(imports, m)
			g[m] = Package{ImportPath: m}
		}
		g[r.Domain] = Package{ImportPath: r.Domain, Imports: imports, Deps: imports}
		g[r.Domain+"/sub"] = Package{ImportPath: r.Domain + "/sub", Imports: []string{"strings"}, Deps: []string{"strings"}}
		appImports = append(appImports, r.Domain)
	}
	// Adapters use infrastructure; the handlers only what does not speak
	// HTTP.
	var infra []string
	for _, i := range r.Infrastructure {
		if !withinAny(i, r.HTTP) {
			infra = append(infra, i)
		}
	}
	for _, a := range append(slices.Clone(r.Adapters), r.Handlers) {
		if a == "" {
			continue
		}
		deps := infra
		if r.Domain != "" {
			deps = append([]string{r.Domain}, infra...)
		}
		g[a] = Package{ImportPath: a, Imports: deps, Deps: deps}
		appImports = append(appImports, a)
	}
	// The handlers may use a library that reaches HTTP for its own ends.
	if r.Handlers != "" && len(r.Opaque) > 0 && len(r.HTTP) > 0 {
		lib := r.Opaque[0] + "/archtest-runtime"
		g[lib] = Package{ImportPath: lib, Imports: []string{r.HTTP[0]}, Deps: []string{r.HTTP[0]}}
		h := g[r.Handlers]
		h.Imports = append(slices.Clone(h.Imports), lib)
		h.Deps = append(slices.Clone(h.Deps), lib, r.HTTP[0])
		g[r.Handlers] = h
	}
	app := r.Module + "/app"
	g[app] = Package{ImportPath: app, Imports: appImports, Deps: appImports}
	return g
}

// ProveRules shows that every rule r switches on fires: for each way of
// breaking it, a made-up graph with r's own paths must produce a violation
// saying so, and a graph that breaks nothing must produce none. It guards
// against a rule that silently stopped matching, for example after a
// package was renamed.
func ProveRules(t *testing.T, r Rules) {
	t.Helper()
	bs := breaches(r)
	if len(bs) == 0 {
		t.Fatal("archtest: the rules switch nothing on")
	}
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			got := Violations(r, b.graph)
			if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, b.want) }) {
				t.Fatalf("violations = %q, want one saying %q", got, b.want)
			}
		})
	}
	t.Run("clean graph", func(t *testing.T) {
		if got := Violations(r, clean(r)); len(got) != 0 {
			t.Fatalf("a graph that breaks no rule has violations: %q", got)
		}
	})
}
