package schemas_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/outboxcdc/outboxcdc/schemas"
	"github.com/outboxcdc/outboxcdc/schemas/internal/compat"
)

// published holds a frozen copy of every published schema version,
// <aggregate>/<Event>.v<N>.json, next to the payloads recorded when it was
// frozen, <Event>.v<N>.examples.json (a JSON array). Neither is ever
// edited: they are what producers and the log already hold.
const published = "testdata/published"

type frozen struct {
	label     string // "OrderCreated.v1"
	eventType string // "OrderCreated"
	schema    []byte
	recorded  []json.RawMessage
}

func loadPublished(t *testing.T) []frozen {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(published, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []frozen
	for _, p := range paths {
		if strings.HasSuffix(p, ".examples.json") {
			continue
		}
		base := filepath.Base(p)
		typ, err := schemas.TypeOf(base)
		if err != nil {
			t.Fatal(err)
		}
		f := frozen{label: strings.TrimSuffix(base, ".json"), eventType: typ}
		if f.schema, err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(strings.TrimSuffix(p, ".json") + ".examples.json")
		if err != nil {
			t.Fatalf("%s: recorded examples: %v", f.label, err)
		}
		if err := json.Unmarshal(raw, &f.recorded); err != nil || len(f.recorded) == 0 {
			t.Fatalf("%s: recorded examples: want a non-empty JSON array (%v)", f.label, err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no published schemas under %s", published)
	}
	return out
}

// TestPublishedVersionsStayCompatible holds each published version's
// current schema to its frozen copy.
func TestPublishedVersionsStayCompatible(t *testing.T) {
	r := newRegistry(t)
	seen := map[string]bool{}
	for _, f := range loadPublished(t) {
		seen[f.eventType] = true
		t.Run(f.label, func(t *testing.T) {
			cur, ok := r.Schema(f.eventType)
			if !ok {
				t.Fatalf("%s: published version has no current schema; a published version is never removed", f.label)
			}
			// The recordings must have been valid when frozen, or (a) proves
			// nothing.
			old := compileFrozen(t, f)
			for i, ex := range examplesOf(t, f) {
				if err := old.Validate(mustUnmarshal(t, ex)); err != nil {
					t.Errorf("%s: recorded example %d does not match the frozen schema: %v", f.label, i, err)
				}
				if err := r.Validate(f.eventType, ex); err != nil {
					t.Errorf("%s: recorded example %d no longer validates: %v", f.label, i, err)
				}
			}
			for _, msg := range breakingChanges(t, f.label, f.schema, cur) {
				t.Error(msg)
			}
		})
	}
	for _, typ := range r.Types() {
		if !seen[typ] {
			t.Errorf("%s: not frozen into %s; copy its schema there and record its examples", typ, published)
		}
	}
}

// TestBreakingChangeIsReported feeds the published check an edited schema:
// the message must name the event, version and field path.
func TestBreakingChangeIsReported(t *testing.T) {
	var f frozen
	for _, x := range loadPublished(t) {
		if x.label == "OrderCreated.v1" {
			f = x
		}
	}
	if f.schema == nil {
		t.Fatal("OrderCreated.v1 is not published")
	}
	edited := bytes.Replace(f.schema, []byte(`"description": "Units ordered.",
            "type": "integer",`), []byte(`"description": "Units ordered.",
            "type": "string",`), 1)
	if bytes.Equal(edited, f.schema) {
		t.Fatal("edit did not apply")
	}
	got := breakingChanges(t, f.label, f.schema, edited)
	want := "OrderCreated.v1: items[].quantity: type changed from integer to string"
	if !slices.Contains(got, want) {
		t.Fatalf("breaking changes %q do not include %q", got, want)
	}
	if got := breakingChanges(t, f.label, f.schema, f.schema); len(got) != 0 {
		t.Fatalf("an unchanged schema reports %q", got)
	}
}

func breakingChanges(t *testing.T, label string, old, cur []byte) []string {
	t.Helper()
	changes, err := compat.DiffJSON(old, cur)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	var out []string
	for _, c := range compat.Breaking(changes) {
		out = append(out, label+": "+c.String())
	}
	return out
}

// examplesOf returns the frozen schema's own examples and the recorded
// payloads.
func examplesOf(t *testing.T, f frozen) []json.RawMessage {
	t.Helper()
	var doc struct {
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(f.schema, &doc); err != nil {
		t.Fatalf("%s: %v", f.label, err)
	}
	return slices.Concat(doc.Examples, f.recorded)
}

func compileFrozen(t *testing.T, f frozen) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	loc := path.Join("mem:///", f.label+".json")
	if err := c.AddResource(loc, mustUnmarshal(t, f.schema)); err != nil {
		t.Fatalf("%s: %v", f.label, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("%s: frozen schema does not compile: %v", f.label, err)
	}
	return sch
}

func mustUnmarshal(t *testing.T, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
