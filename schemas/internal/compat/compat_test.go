package compat_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/outboxcdc/outboxcdc/schemas/internal/compat"
)

// base is a small schema in the shape of the event schemas: an object with
// required properties and an array of objects.
const base = `{
  "type": "object",
  "additionalProperties": true,
  "required": ["orderId", "items"],
  "properties": {
    "orderId": {"type": "string", "format": "uuid"},
    "note": {"type": "string", "maxLength": 100},
    "status": {"type": "string", "enum": ["new", "paid"]},
    "items": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": ["sku", "quantity"],
        "properties": {
          "sku": {"type": "string", "minLength": 1},
          "quantity": {"type": "integer", "minimum": 1}
        }
      }
    }
  }
}`

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		cur  string
		// want lists the expected changes as "path: message"; breaking
		// tells whether each is expected to break.
		want     []string
		breaking bool
	}{
		{
			name: "identical",
			cur:  base,
		},
		{
			name:     "added optional property is compatible",
			cur:      replace(base, `"note": {`, `"channel": {"type": "string"}, "note": {`),
			want:     []string{"channel: optional property added"},
			breaking: false,
		},
		{
			name: "documentation only is compatible",
			cur: replace(base, `"type": "object",
  "additionalProperties"`, `"type": "object", "title": "T", "description": "D", "examples": [{}],
  "additionalProperties"`),
		},
		{
			name:     "removed property",
			cur:      replace(base, `"note": {"type": "string", "maxLength": 100},`, ``),
			want:     []string{"note: property removed"},
			breaking: true,
		},
		{
			name:     "retyped nested property",
			cur:      replace(base, `"quantity": {"type": "integer", "minimum": 1}`, `"quantity": {"type": "string"}`),
			want:     []string{"items[].quantity: type changed from integer to string", "items[].quantity: minimum 1 removed (loosened: consumers on the old schema reject what it now allows)"},
			breaking: true,
		},
		{
			name:     "added required property",
			cur:      replace(replace(base, `"note": {`, `"channel": {"type": "string"}, "note": {`), `["orderId", "items"]`, `["orderId", "items", "channel"]`),
			want:     []string{"channel: required property added"},
			breaking: true,
		},
		{
			name:     "existing property became required",
			cur:      replace(base, `["orderId", "items"]`, `["orderId", "items", "note"]`),
			want:     []string{"note: property became required"},
			breaking: true,
		},
		{
			name:     "property no longer required",
			cur:      replace(base, `["sku", "quantity"]`, `["sku"]`),
			want:     []string{"items[].quantity: property no longer required (consumers on the old schema reject payloads without it)"},
			breaking: true,
		},
		{
			name:     "tightened minimum",
			cur:      replace(base, `"minimum": 1`, `"minimum": 2`),
			want:     []string{"items[].quantity: minimum tightened from 1 to 2"},
			breaking: true,
		},
		{
			name:     "tightened maxLength",
			cur:      replace(base, `"maxLength": 100`, `"maxLength": 50`),
			want:     []string{"note: maxLength tightened from 100 to 50"},
			breaking: true,
		},
		{
			name:     "loosened maxLength",
			cur:      replace(base, `"maxLength": 100`, `"maxLength": 200`),
			want:     []string{"note: maxLength loosened from 100 to 200 (consumers on the old schema reject what it now allows)"},
			breaking: true,
		},
		{
			name:     "added bound",
			cur:      replace(base, `"sku": {"type": "string", "minLength": 1}`, `"sku": {"type": "string", "minLength": 1, "maxLength": 64}`),
			want:     []string{"items[].sku: maxLength 64 added (tightened)"},
			breaking: true,
		},
		{
			name:     "enum value removed",
			cur:      replace(base, `["new", "paid"]`, `["new"]`),
			want:     []string{`status: enum value "paid" removed (tightened)`},
			breaking: true,
		},
		{
			name:     "enum value added",
			cur:      replace(base, `["new", "paid"]`, `["new", "paid", "shipped"]`),
			want:     []string{`status: enum value "shipped" added (consumers on the old schema reject it)`},
			breaking: true,
		},
		{
			name:     "format changed",
			cur:      replace(base, `"format": "uuid"`, `"format": "uri"`),
			want:     []string{`orderId: format changed from "uuid" to "uri"`},
			breaking: true,
		},
		{
			name:     "pattern added",
			cur:      replace(base, `"sku": {"type": "string", "minLength": 1}`, `"sku": {"type": "string", "minLength": 1, "pattern": "^[A-Z]+$"}`),
			want:     []string{`items[].sku: pattern "^[A-Z]+$" added`},
			breaking: true,
		},
		{
			name:     "additional properties closed",
			cur:      replace(base, `"additionalProperties": true`, `"additionalProperties": false`),
			want:     []string{"(root): additionalProperties changed from true to false"},
			breaking: true,
		},
		{
			name:     "nullable type",
			cur:      replace(base, `"note": {"type": "string", "maxLength": 100}`, `"note": {"type": ["string", "null"], "maxLength": 100}`),
			want:     []string{"note: type changed from string to [null, string]"},
			breaking: true,
		},
		{
			name: "items schema removed",
			cur: replace(base, `"minItems": 1,
      "items": {`, `"minItems": 1,
      "x-items": {`),
			want:     []string{"items[]: schema removed (loosened to accept anything)", "items: x-items {\"properties\":{\"quantity\":{\"minimum\":1,\"type\":\"integer\"},\"sku\":{\"minLength\":1,\"type\":\"string\"}},\"required\":[\"sku\",\"quantity\"],\"type\":\"object\"} added"},
			breaking: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := compat.DiffJSON([]byte(base), []byte(tt.cur))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.String())
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n got %q\nwant %q", got, tt.want)
			}
			if tt.want == nil && !tt.breaking && len(got) != 0 {
				t.Errorf("want no changes, got %q", got)
			}
			if b := len(compat.Breaking(changes)) > 0; b != tt.breaking {
				t.Errorf("breaking = %v, want %v (changes %q)", b, tt.breaking, got)
			}
		})
	}
}

func TestDiffRejectsBadJSON(t *testing.T) {
	if _, err := compat.DiffJSON([]byte(base), []byte(`{`)); err == nil {
		t.Fatal("DiffJSON accepted a truncated document")
	}
}

func replace(s, old, cur string) string {
	if strings.Count(s, old) != 1 {
		panic("test schema edit does not apply exactly once: " + old)
	}
	return strings.Replace(s, old, cur, 1)
}
