package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/outboxcdc/outboxcdc/schemas/events"
)

// Draft is the JSON Schema dialect every event schema declares in $schema.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// files holds every event schema: <aggregate>/<Event>.v<N>.json.
//
//go:embed order/*.json payment/*.json inventory/*.json
var files embed.FS

var (
	// ErrUnknownType is wrapped by Validate's error for an event type
	// without a schema.
	ErrUnknownType = errors.New("schemas: unknown event type")
	// ErrInvalid is wrapped by Validate's error for a payload that is not
	// JSON or breaks its schema; errors.As to *InvalidError gives the detail.
	ErrInvalid = errors.New("schemas: invalid payload")
)

// maxProblems bounds InvalidError.Problems so an error stays small enough
// for a log line or a dead-letter header.
const maxProblems = 8

// InvalidError describes a payload that failed validation. It wraps
// ErrInvalid and the underlying cause (a *jsonschema.ValidationError or a
// JSON syntax error).
type InvalidError struct {
	// EventType is the type the payload was validated as.
	EventType string
	// Problems lists what failed, one line each, sorted, e.g.
	// "at '/items/0/quantity': minimum: got 0, want 1"; past 8 the
	// last line only counts the rest.
	Problems []string

	cause error
}

// Error reports the event type and every problem on one line.
func (e *InvalidError) Error() string {
	return "schemas: invalid " + e.EventType + " payload: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns ErrInvalid and the cause.
func (e *InvalidError) Unwrap() []error { return []error{ErrInvalid, e.cause} }

// Registry holds every embedded event schema, compiled once. It is safe for
// concurrent use.
type Registry struct {
	byType map[string]*entry
	types  []string
}

type entry struct {
	raw    []byte
	schema *jsonschema.Schema
}

// New compiles every embedded schema. It fails if a file is misnamed, is
// not draft 2020-12, has an $id that does not end with its path, or does not
// compile.
func New() (*Registry, error) {
	paths, err := fs.Glob(files, "*/*.json")
	if err != nil {
		return nil, fmt.Errorf("schemas: list: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	r := &Registry{byType: make(map[string]*entry, len(paths))}
	for _, p := range paths {
		typ, err := TypeOf(path.Base(p))
		if err != nil {
			return nil, err
		}
		if _, dup := r.byType[typ]; dup {
			return nil, fmt.Errorf("schemas: %s: event type %s defined twice", p, typ)
		}
		raw, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("schemas: %s: %w", p, err)
		}
		sch, err := compile(c, p, raw)
		if err != nil {
			return nil, fmt.Errorf("schemas: %s: %w", p, err)
		}
		r.byType[typ] = &entry{raw: raw, schema: sch}
		r.types = append(r.types, typ)
	}
	slices.Sort(r.types)
	return r, nil
}

// compile checks the document's dialect and that its $id ends with its
// file path, then compiles it.
func compile(c *jsonschema.Compiler, file string, raw []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	obj, _ := doc.(map[string]any)
	if d, _ := obj["$schema"].(string); d != Draft {
		return nil, fmt.Errorf("$schema is %q, want %q", obj["$schema"], Draft)
	}
	id, _ := obj["$id"].(string)
	if !strings.HasSuffix(id, "/"+file) {
		return nil, fmt.Errorf("$id %q does not end with /%s", id, file)
	}
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	return sch, nil
}

// noLoader refuses every external reference: schemas are self-contained,
// and validation must never touch the file system or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema reference %s not allowed", url)
}

// TypeOf returns the event type string a schema file name stands for:
// "OrderCreated.v1.json" is "OrderCreated", "OrderCreated.v2.json" is
// "OrderCreated.v2".
func TypeOf(file string) (string, error) {
	base, ok := strings.CutSuffix(file, ".json")
	name, ver, ok2 := strings.Cut(base, ".v")
	n, err := strconv.Atoi(ver)
	if !ok || !ok2 || name == "" || strings.Contains(name, ".") || err != nil || n < 1 || strconv.Itoa(n) != ver {
		return "", fmt.Errorf("schemas: file %q is not named <Event>.v<N>.json", file)
	}
	if n == 1 {
		return name, nil
	}
	return name + ".v" + ver, nil
}

// Validate checks payload against the schema of eventType. The error wraps
// ErrUnknownType when there is no such schema and ErrInvalid (as an
// *InvalidError) when the payload is not JSON or breaks the schema.
func (r *Registry) Validate(eventType string, payload []byte) error {
	e, ok := r.byType[eventType]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownType, eventType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return &InvalidError{EventType: eventType, Problems: []string{"not JSON: " + err.Error()}, cause: err}
	}
	if err := e.schema.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return &InvalidError{EventType: eventType, Problems: []string{err.Error()}, cause: err}
		}
		ps := problems(ve, nil)
		// The validator walks objects in map order; sort for stable errors.
		slices.Sort(ps)
		if len(ps) > maxProblems {
			ps = append(ps[:maxProblems], fmt.Sprintf("and %d more", len(ps)-maxProblems))
		}
		return &InvalidError{EventType: eventType, Problems: ps, cause: err}
	}
	return nil
}

// problems collects the leaves of a validation error tree: the specific
// failures, without the "does not match schema" wrappers above them.
func problems(ve *jsonschema.ValidationError, out []string) []string {
	if len(ve.Causes) == 0 {
		return append(out, ve.Error())
	}
	for _, c := range ve.Causes {
		out = problems(c, out)
	}
	return out
}

// Marshal encodes e as JSON and validates it against the schema of
// e.EventType(): the producer's one call before appending to the outbox.
func (r *Registry) Marshal(e events.Event) ([]byte, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("schemas: marshal %s: %w", e.EventType(), err)
	}
	if err := r.Validate(e.EventType(), payload); err != nil {
		return nil, err
	}
	return payload, nil
}

// Types returns every event type with a schema, sorted.
func (r *Registry) Types() []string { return slices.Clone(r.types) }

// Schema returns a copy of the schema document of eventType.
func (r *Registry) Schema(eventType string) ([]byte, bool) {
	e, ok := r.byType[eventType]
	if !ok {
		return nil, false
	}
	return bytes.Clone(e.raw), true
}

// defaultRegistry is compiled on first use, so importing the package costs
// nothing until an event is validated.
var defaultRegistry = sync.OnceValues(New)

// Validate checks payload against the schema of eventType using the
// package's registry. See Registry.Validate.
func Validate(eventType string, payload []byte) error {
	r, err := defaultRegistry()
	if err != nil {
		return err
	}
	return r.Validate(eventType, payload)
}

// Marshal encodes and validates e using the package's registry. See
// Registry.Marshal.
func Marshal(e events.Event) ([]byte, error) {
	r, err := defaultRegistry()
	if err != nil {
		return nil, err
	}
	return r.Marshal(e)
}

// Types returns every event type with a schema, sorted. It returns nil
// only if the embedded schemas fail to compile, which Validate reports.
func Types() []string {
	r, err := defaultRegistry()
	if err != nil {
		return nil
	}
	return r.Types()
}

// Schema returns a copy of the schema document of eventType.
func Schema(eventType string) ([]byte, bool) {
	r, err := defaultRegistry()
	if err != nil {
		return nil, false
	}
	return r.Schema(eventType)
}
