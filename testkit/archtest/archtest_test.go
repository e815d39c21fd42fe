package archtest

import (
	"slices"
	"strings"
	"testing"
)

const mod = "example.com/shop/services/cart"

var rules = Rules{
	Module:          mod,
	Domain:          mod + "/internal/cart",
	DomainMayImport: []string{"example.com/shop/schemas"},
	Infrastructure:  []string{"github.com/jackc/pgx", "github.com/labstack/echo"},
	Handlers:        mod + "/internal/kafkaapi",
	HTTP:            []string{"net/http", "github.com/labstack/echo"},
	Opaque:          []string{"example.com/shop/libs"},
	Adapters:        []string{mod + "/internal/postgres", mod + "/internal/httpapi", mod + "/internal/kafkaapi"},
	Deployables:     []string{"example.com/shop/services", "example.com/shop/connectors"},
}

func TestViolations(t *testing.T) {
	tests := []struct {
		name  string
		graph Graph
		want  []string
	}{
		{"clean", graphOf(
			std("time"),
			Package{ImportPath: mod + "/internal/cart", Imports: []string{"time", "example.com/shop/schemas/events", mod + "/internal/cart/money"}},
			Package{ImportPath: mod + "/internal/postgres", Imports: []string{mod + "/internal/cart", "github.com/jackc/pgx/v5"},
				Deps: []string{"github.com/jackc/pgx/v5", "example.com/shop/libs/outbox"}},
			Package{ImportPath: mod + "/internal/postgres/sql", Imports: []string{mod + "/internal/postgres"}},
			Package{ImportPath: mod + "/app", Imports: []string{mod + "/internal/postgres", mod + "/internal/httpapi"},
				Deps: []string{mod + "/internal/cart", "example.com/shop/libs/consumer"}},
		), nil},
		{"packages outside the module are not checked", graphOf(
			Package{ImportPath: "example.com/shop/services/other/internal/other", Imports: []string{"github.com/jackc/pgx/v5"},
				Deps: []string{"github.com/jackc/pgx/v5", "example.com/shop/services/cart/app"}},
			Package{ImportPath: mod + "-v2/internal/cart", Imports: []string{"github.com/jackc/pgx/v5"}},
		), nil},
		{"another service", graphOf(
			Package{ImportPath: mod + "/app", Deps: []string{"example.com/shop/services/payment/internal/payment"}},
		), []string{mod + "/app depends on example.com/shop/services/payment/internal/payment: another deployable's code"}},
		{"a sibling module sharing the name's prefix", graphOf(
			Package{ImportPath: mod + "/app", Deps: []string{mod + "-v2/app"}},
		), []string{mod + "/app depends on " + mod + "-v2/app: another deployable's code"}},
		{"a connector", graphOf(
			Package{ImportPath: mod + "/internal/kafkaapi", Deps: []string{"example.com/shop/connectors/relay/internal/x"}},
		), []string{mod + "/internal/kafkaapi depends on example.com/shop/connectors/relay/internal/x: another deployable's code"}},
		{"domain imports pgx", graphOf(
			Package{ImportPath: mod + "/internal/cart", Imports: []string{"github.com/jackc/pgx/v5"}, Deps: []string{"github.com/jackc/pgx/v5"}},
		), []string{
			mod + "/internal/cart depends on github.com/jackc/pgx/v5: the domain must not reach infrastructure",
			mod + "/internal/cart imports github.com/jackc/pgx/v5: the domain imports only the standard library, example.com/shop/schemas and itself",
		}},
		{"domain subpackage reaches echo transitively", graphOf(
			std("strings"),
			Package{ImportPath: mod + "/internal/cart/money", Imports: []string{"strings"}, Deps: []string{"strings", "github.com/labstack/echo/v4"}},
		), []string{mod + "/internal/cart/money depends on github.com/labstack/echo/v4: the domain must not reach infrastructure"}},
		{"handlers import net/http", graphOf(
			std("net/http"),
			Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{"net/http"}, Deps: []string{"net/http"}},
		), []string{mod + "/internal/kafkaapi depends on net/http: event handlers must not speak HTTP"}},
		{"handlers import the HTTP adapter", graphOf(
			Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{mod + "/internal/httpapi"},
				Deps: []string{mod + "/internal/httpapi", "github.com/labstack/echo/v4"}},
			Package{ImportPath: mod + "/internal/httpapi", Imports: []string{"github.com/labstack/echo/v4"}},
		), []string{
			mod + "/internal/kafkaapi depends on github.com/labstack/echo/v4: event handlers must not speak HTTP",
			mod + "/internal/kafkaapi imports " + mod + "/internal/httpapi: adapters must not import each other",
		}},
		{"handlers reach net/http through a package of their own module", graphOf(
			Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{mod + "/internal/notify"}},
			Package{ImportPath: mod + "/internal/notify", Imports: []string{"strings", "net/http"}},
			std("strings"), std("net/http"),
		), []string{mod + "/internal/kafkaapi depends on net/http: event handlers must not speak HTTP"}},
		{"handlers reach net/http through a third-party helper", graphOf(
			Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{"example.com/retry"}},
			Package{ImportPath: "example.com/retry", Imports: []string{"example.com/retry/internal/client"}},
			Package{ImportPath: "example.com/retry/internal/client", Imports: []string{"net/http"}},
		), []string{mod + "/internal/kafkaapi depends on net/http: event handlers must not speak HTTP"}},
		{"a library the handlers use may reach net/http", graphOf(
			Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{"example.com/shop/libs/consumer"},
				Deps: []string{"example.com/shop/libs/consumer", "example.com/shop/libs/tracing", "net/http"}},
			Package{ImportPath: "example.com/shop/libs/consumer", Imports: []string{"example.com/shop/libs/tracing"}},
			Package{ImportPath: "example.com/shop/libs/tracing", Imports: []string{"net/http"}},
		), nil},
		{"adapter subpackage imports another adapter", graphOf(
			Package{ImportPath: mod + "/internal/postgres/sql", Imports: []string{mod + "/internal/httpapi/dto"}},
		), []string{mod + "/internal/postgres/sql imports " + mod + "/internal/httpapi/dto: adapters must not import each other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Violations(rules, tt.graph); !slices.Equal(got, tt.want) {
				t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestRulesSwitchedOff(t *testing.T) {
	g := graphOf(
		Package{ImportPath: mod + "/internal/cart", Imports: []string{"github.com/jackc/pgx/v5"}, Deps: []string{"github.com/jackc/pgx/v5"}},
		Package{ImportPath: mod + "/internal/kafkaapi", Imports: []string{"net/http", mod + "/internal/postgres"}, Deps: []string{"net/http"}},
		Package{ImportPath: mod + "/app", Deps: []string{"example.com/shop/services/payment"}},
	)
	if got := Violations(Rules{Module: mod}, g); len(got) != 0 {
		t.Fatalf("rules with only a module = %q, want none", got)
	}
}

func TestDecodeMergesTestVariants(t *testing.T) {
	out := []byte(`{"ImportPath":"m/p","Imports":["fmt"],"Deps":["fmt"]}
{"ImportPath":"fmt","Standard":true}
{"ImportPath":"m/p [m/p.test]","Imports":["fmt","m/testhelper"],"Deps":["fmt","m/testhelper"]}
{"ImportPath":"m/p_test [m/p.test]","Imports":["m/p","m/q [m/p.test]"],"Deps":["m/q [m/p.test]"]}`)
	g, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := g["m/p"]; !slices.Contains(p.Imports, "m/testhelper") || !slices.Contains(p.Imports, "fmt") || !slices.Contains(p.Deps, "m/testhelper") {
		t.Fatalf("m/p = %+v, want its test variant's imports merged in", p)
	}
	if !g["fmt"].Standard {
		t.Fatal("fmt is not marked standard")
	}
	if p, ok := g["m/p_test"]; !ok || !slices.Equal(p.Imports, []string{"m/p", "m/q"}) || !slices.Equal(p.Deps, []string{"m/q"}) {
		t.Fatalf("m/p_test = %+v, want it present with plain import paths", p)
	}
	if _, err := decode([]byte(`{"ImportPath":`)); err == nil {
		t.Fatal("truncated output decoded without an error")
	}
}

func TestMissing(t *testing.T) {
	g := graphOf(Package{ImportPath: rules.Domain}, Package{ImportPath: mod + "/internal/kafkaapi"})
	want := []string{mod + "/internal/postgres", mod + "/internal/httpapi"}
	if got := missing(rules, g); !slices.Equal(got, want) {
		t.Fatalf("missing = %q, want %q", got, want)
	}
}

func TestService(t *testing.T) {
	r := Service(Repo+"services/cart", "internal/cart")
	if r.Domain != Repo+"services/cart/internal/cart" || r.Handlers != Repo+"services/cart/internal/kafkaapi" ||
		!slices.Contains(r.Adapters, r.Handlers) || len(r.Adapters) != 3 || !slices.Contains(r.DomainMayImport, Repo+"schemas") ||
		!slices.Contains(r.DomainMayImport, Repo+"libs/validation") ||
		!slices.Contains(r.Opaque, Repo+"libs") || !slices.Contains(r.HTTP, Repo+"libs/httpserver") {
		t.Fatalf("Service = %+v", r)
	}
}

// TestDomainMayImportALibrary: a library the domain may import is exempt
// from the infrastructure its prefix falls under, but what it reaches is
// not, and its neighbours stay infrastructure.
func TestDomainMayImportALibrary(t *testing.T) {
	r := rules
	r.Infrastructure = append(slices.Clone(rules.Infrastructure), "example.com/shop/libs")
	r.DomainMayImport = append(slices.Clone(rules.DomainMayImport), "example.com/shop/libs/validation")
	const lib = "example.com/shop/libs/validation"
	tests := []struct {
		name  string
		graph Graph
		want  []string
	}{
		{"the allowed library", graphOf(
			std("strings"),
			Package{ImportPath: mod + "/internal/cart", Imports: []string{lib}, Deps: []string{lib, "strings"}},
			Package{ImportPath: lib, Imports: []string{"strings"}, Deps: []string{"strings"}},
		), nil},
		{"what the allowed library reaches", graphOf(
			Package{ImportPath: mod + "/internal/cart", Imports: []string{lib}, Deps: []string{lib, "github.com/jackc/pgx/v5"}},
			Package{ImportPath: lib, Imports: []string{"github.com/jackc/pgx/v5"}},
		), []string{mod + "/internal/cart depends on github.com/jackc/pgx/v5: the domain must not reach infrastructure"}},
		{"a neighbour of the allowed library", graphOf(
			Package{ImportPath: mod + "/internal/cart", Imports: []string{"example.com/shop/libs/outbox"}, Deps: []string{"example.com/shop/libs/outbox"}},
		), []string{
			mod + "/internal/cart depends on example.com/shop/libs/outbox: the domain must not reach infrastructure",
			mod + "/internal/cart imports example.com/shop/libs/outbox: the domain imports only the standard library, example.com/shop/schemas, " + lib + " and itself",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Violations(r, tt.graph); !slices.Equal(got, tt.want) {
				t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	ProveRules(t, r)
}

func TestProveRules(t *testing.T) {
	ProveRules(t, rules)
	ProveRules(t, Service(Repo+"services/cart", "internal/cart"))
}

// The libraries are shared by every deployable, so they must not depend on
// any of them.
func TestLibsDependOnNoDeployable(t *testing.T) {
	Check(t, Rules{Module: Repo + "libs", Deployables: Deployables})
}
