package configprovider

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// EnvVarClass is Kafka's environment-variable config provider.
const EnvVarClass = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"

// ErrUnresolved is wrapped by Resolve's error for a reference that cannot be resolved.
var ErrUnresolved = errors.New("unresolved config provider reference")

// Resolver resolves references for the providers a worker configured.
type Resolver struct {
	env    map[string]bool // provider names backed by environment variables
	names  []string
	getenv func(string) (string, bool)
}

// New builds a Resolver from worker properties (config.providers and
// config.providers.<name>.class). It fails on a provider class it does not
// implement, naming it.
func New(worker map[string]string, lookupEnv func(string) (string, bool)) (*Resolver, error) {
	r := &Resolver{env: map[string]bool{}, getenv: lookupEnv}
	for _, name := range strings.Split(worker["config.providers"], ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		class := worker["config.providers."+name+".class"]
		if class != EnvVarClass {
			return nil, fmt.Errorf("config provider %q: class %q is not supported (only %s)", name, class, EnvVarClass)
		}
		r.env[name] = true
		r.names = append(r.names, name)
	}
	sort.Strings(r.names)
	return r, nil
}

// reference matches ${provider:key} and ${provider:path:key}, the shape
// Kafka's ConfigTransformer recognises.
var reference = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

// Resolve returns a copy of config with every reference to a configured
// provider replaced by its value. References to providers that are not
// configured are left as they are (Connect does the same).
func (r *Resolver) Resolve(config map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(config))
	var errs []error
	for k, v := range config {
		out[k] = reference.ReplaceAllStringFunc(v, func(m string) string {
			g := reference.FindStringSubmatch(m)
			provider, key := g[1], g[4]
			if !r.env[provider] {
				return m
			}
			val, ok := r.getenv(key)
			if !ok {
				errs = append(errs, fmt.Errorf("%w: %s: environment variable %s of the relay is not set", ErrUnresolved, k, key))
				return m
			}
			return val
		})
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return out, errors.Join(errs...)
}
