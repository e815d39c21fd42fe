// Package compat compares two versions of one JSON Schema document and
// reports what changed, marking each change that breaks compatibility.
//
// # Rules
//
// A change is compatible only if a payload valid under either version is
// valid under the other, for every field a consumer reads: consumers
// validate on receipt, so a producer on the new schema must not emit what
// a consumer on the old one rejects, and a consumer on the new schema must
// accept every event already on the log. So:
//
//   - adding an optional property is compatible (schemas allow additional
//     properties, so old consumers already accept it);
//   - documentation keywords (title, description, examples, $comment,
//     default, deprecated, readOnly, writeOnly) may change freely;
//   - everything else breaks: a removed property, a changed type, a property
//     that became required or optional, a tightened or loosened bound
//     (minimum, maxLength, minItems, ...), an enum value removed or added, a
//     changed pattern, format or const, a changed additionalProperties, and
//     any change to a keyword the diff does not model.
//
// # Limits
//
// The diff is structural: it recurses into properties and items and
// compares the rest keyword by keyword, without resolving $ref or reasoning
// about allOf/anyOf/oneOf (any change there is reported as breaking). It
// never calls a change compatible when it is not, but may call an
// equivalent rewrite breaking.
package compat
