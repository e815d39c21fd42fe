package compat

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Change is one difference between two schema versions.
type Change struct {
	// Path names the schema location in payload terms: "items[].quantity";
	// empty for the root.
	Path string
	// Message says what changed, e.g. "type changed from integer to string".
	Message string
	// Breaking is true unless the change is compatible.
	Breaking bool
}

// String formats the change as "path: message".
func (c Change) String() string {
	p := c.Path
	if p == "" {
		p = "(root)"
	}
	return p + ": " + c.Message
}

// DiffJSON decodes two schema documents and diffs them. See Diff.
func DiffJSON(old, cur []byte) ([]Change, error) {
	var o, n any
	if err := json.Unmarshal(old, &o); err != nil {
		return nil, fmt.Errorf("compat: old schema: %w", err)
	}
	if err := json.Unmarshal(cur, &n); err != nil {
		return nil, fmt.Errorf("compat: new schema: %w", err)
	}
	return Diff(o, n), nil
}

// Diff reports how schema cur differs from schema old. Both are decoded
// JSON (encoding/json into any). Changes come in a stable order.
func Diff(old, cur any) []Change {
	var d differ
	d.schema("", old, cur)
	return d.changes
}

// Breaking returns the breaking changes among cs.
func Breaking(cs []Change) []Change {
	var out []Change
	for _, c := range cs {
		if c.Breaking {
			out = append(out, c)
		}
	}
	return out
}

// annotations never affect validation.
var annotations = map[string]bool{
	"title": true, "description": true, "examples": true, "$comment": true,
	"default": true, "deprecated": true, "readOnly": true, "writeOnly": true,
}

// Bounds: raising a lower bound or lowering an upper bound tightens.
var (
	lowerBounds = []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
	upperBounds = []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
)

// handled are the keywords diffed by meaning rather than by equality.
var handled = func() map[string]bool {
	m := map[string]bool{"type": true, "properties": true, "required": true, "items": true, "additionalProperties": true, "enum": true}
	for _, k := range slices.Concat(lowerBounds, upperBounds) {
		m[k] = true
	}
	return m
}()

type differ struct{ changes []Change }

func (d *differ) add(path string, breaking bool, format string, args ...any) {
	d.changes = append(d.changes, Change{Path: path, Message: fmt.Sprintf(format, args...), Breaking: breaking})
}

// schema diffs two subschemas; a missing one (nil) accepts anything, like
// true.
func (d *differ) schema(path string, old, cur any) {
	o, oObj := old.(map[string]any)
	n, nObj := cur.(map[string]any)
	switch {
	case oObj && cur == nil:
		d.add(path, true, "schema removed (loosened to accept anything)")
		return
	case old == nil && nObj:
		d.add(path, true, "schema added (tightened)")
		return
	case !oObj || !nObj:
		if !reflect.DeepEqual(boolSchema(old), boolSchema(cur)) {
			d.add(path, true, "schema changed from %s to %s", show(old), show(cur))
		}
		return
	}
	d.types(path, o["type"], n["type"])
	d.object(path, o, n)
	if o["items"] != nil || n["items"] != nil {
		d.schema(path+"[]", o["items"], n["items"])
	}
	d.additional(path, o["additionalProperties"], n["additionalProperties"])
	for _, k := range lowerBounds {
		d.bound(path, k, o[k], n[k], true)
	}
	for _, k := range upperBounds {
		d.bound(path, k, o[k], n[k], false)
	}
	d.enum(path, o["enum"], n["enum"])
	for _, k := range slices.Sorted(maps.Keys(union(o, n))) {
		if annotations[k] || handled[k] {
			continue
		}
		ov, oin := o[k]
		nv, nin := n[k]
		switch {
		case !oin:
			d.add(path, true, "%s %s added", k, show(nv))
		case !nin:
			d.add(path, true, "%s %s removed", k, show(ov))
		case !reflect.DeepEqual(ov, nv):
			d.add(path, true, "%s changed from %s to %s", k, show(ov), show(nv))
		}
	}
}

func (d *differ) types(path string, old, cur any) {
	o, n := typeSet(old), typeSet(cur)
	if !slices.Equal(o, n) {
		d.add(path, true, "type changed from %s to %s", typeName(o), typeName(n))
	}
}

// object diffs properties and required together: whether an added property
// breaks depends on whether it is required.
func (d *differ) object(path string, o, n map[string]any) {
	oProps, _ := o["properties"].(map[string]any)
	nProps, _ := n["properties"].(map[string]any)
	oReq, nReq := stringSet(o["required"]), stringSet(n["required"])
	for _, name := range slices.Sorted(maps.Keys(oProps)) {
		p := child(path, name)
		nv, ok := nProps[name]
		if !ok {
			d.add(p, true, "property removed")
			continue
		}
		d.schema(p, oProps[name], nv)
	}
	for _, name := range slices.Sorted(maps.Keys(nProps)) {
		if _, ok := oProps[name]; ok {
			continue
		}
		if nReq[name] {
			d.add(child(path, name), true, "required property added")
		} else {
			d.add(child(path, name), false, "optional property added")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nReq)) {
		_, existed := oProps[name]
		_, added := nProps[name]
		if !oReq[name] && (existed || !added) {
			d.add(child(path, name), true, "property became required")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(oReq)) {
		if !nReq[name] {
			d.add(child(path, name), true, "property no longer required (consumers on the old schema reject payloads without it)")
		}
	}
}

func (d *differ) additional(path string, old, cur any) {
	// Absent means any additional property is allowed.
	if old == nil {
		old = true
	}
	if cur == nil {
		cur = true
	}
	if reflect.DeepEqual(old, cur) {
		return
	}
	d.add(path, true, "additionalProperties changed from %s to %s", show(old), show(cur))
}

func (d *differ) bound(path, kw string, old, cur any, lower bool) {
	if reflect.DeepEqual(old, cur) {
		return
	}
	o, oOK := old.(float64)
	n, nOK := cur.(float64)
	switch {
	case !oOK:
		d.add(path, true, "%s %s added (tightened)", kw, show(cur))
	case !nOK:
		d.add(path, true, "%s %s removed (loosened: consumers on the old schema reject what it now allows)", kw, show(old))
	case (n > o) == lower:
		d.add(path, true, "%s tightened from %s to %s", kw, show(old), show(cur))
	default:
		d.add(path, true, "%s loosened from %s to %s (consumers on the old schema reject what it now allows)", kw, show(old), show(cur))
	}
}

func (d *differ) enum(path string, old, cur any) {
	if reflect.DeepEqual(old, cur) {
		return
	}
	o, oOK := old.([]any)
	n, nOK := cur.([]any)
	if !oOK || !nOK {
		d.add(path, true, "enum changed from %s to %s", show(old), show(cur))
		return
	}
	for _, v := range o {
		if !slices.ContainsFunc(n, func(x any) bool { return reflect.DeepEqual(x, v) }) {
			d.add(path, true, "enum value %s removed (tightened)", show(v))
		}
	}
	for _, v := range n {
		if !slices.ContainsFunc(o, func(x any) bool { return reflect.DeepEqual(x, v) }) {
			d.add(path, true, "enum value %s added (consumers on the old schema reject it)", show(v))
		}
	}
}

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func boolSchema(v any) any {
	if v == nil {
		return true
	}
	return v
}

func typeSet(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	return nil
}

func typeName(ts []string) string {
	switch len(ts) {
	case 0:
		return "any"
	case 1:
		return ts[0]
	}
	return "[" + strings.Join(ts, ", ") + "]"
}

func stringSet(v any) map[string]bool {
	m := map[string]bool{}
	arr, _ := v.([]any)
	for _, x := range arr {
		if s, ok := x.(string); ok {
			m[s] = true
		}
	}
	return m
}

func union(a, b map[string]any) map[string]any {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

func show(v any) string {
	if v == nil {
		return "absent"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
