// Package connectdata models the slice of Kafka Connect's data API (org.apache.kafka.connect.data) a source
// connector's records pass through: Schema, Struct and the Java value classes, with Struct's validation, the
// values' Object.toString forms (JavaString, including Struct.toString and ByteBuffer.toString) and
// Values.convertToString (HeaderString). Package converter turns them into Kafka bytes.
//
// Java values are represented by Go values: nil, bool (Boolean), int8 (Byte), int16 (Short), int32 (Integer),
// int64 (Long), float32 (Float), float64 (Double), string (String), ByteBuffer (java.nio.HeapByteBuffer),
// ByteArray (byte[]), Decimal (java.math.BigDecimal), List (java.util.ArrayList) and *Struct. Strings hold the
// UTF-8 form of the Java string (lone surrogates as WTF-8, see package javafmt).
//
// Errors carry the Java exception class and message (Exception), so a task failure reads like Connect's trace.
package connectdata

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Type is a Connect Schema.Type.
type Type uint8

// Connect schema types.
const (
	TypeInt8 Type = iota + 1
	TypeInt16
	TypeInt32
	TypeInt64
	TypeFloat32
	TypeFloat64
	TypeBoolean
	TypeString
	TypeBytes
	TypeArray
	TypeMap
	TypeStruct
)

var typeNames = [...]string{"", "INT8", "INT16", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "STRING", "BYTES", "ARRAY", "MAP", "STRUCT"}

// String returns the Java enum name (INT32, STRUCT, ...).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// Param is one schema parameter; parameters keep insertion order like SchemaBuilder's LinkedHashMap.
type Param struct {
	Key, Value string
}

// Field is one struct field.
type Field struct {
	Name   string
	Schema *Schema
}

// Schema is an immutable Connect schema (ConnectSchema). Build it once and share it; never modify a schema that a
// Struct uses.
type Schema struct {
	Type     Type
	Optional bool
	Default  any // nil: no default
	Name     string
	Version  *int32
	Doc      string
	Params   []Param
	Fields   []Field
	// Value is the element schema of an ARRAY (and the value schema of a MAP).
	Value *Schema
	// KeySchema is the key schema of a MAP.
	KeySchema *Schema
}

// Version returns a pointer to v, for Schema.Version.
func Version(v int32) *int32 { return &v }

// Param returns the value of parameter key.
func (s *Schema) Param(key string) (string, bool) {
	for _, p := range s.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// FieldIndex returns the index of field name, or -1.
func (s *Schema) FieldIndex(name string) int {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// String is ConnectSchema.toString: "Schema{name:TYPE}" or "Schema{TYPE}".
func (s *Schema) String() string {
	if s.Name != "" {
		return "Schema{" + s.Name + ":" + s.Type.String() + "}"
	}
	return "Schema{" + s.Type.String() + "}"
}

// Equal is ConnectSchema.equals.
func Equal(a, b *Schema) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if a.Type != b.Type || a.Optional != b.Optional || a.Name != b.Name || a.Doc != b.Doc {
		return false
	}
	if (a.Version == nil) != (b.Version == nil) || (a.Version != nil && *a.Version != *b.Version) {
		return false
	}
	if !reflect.DeepEqual(a.Default, b.Default) || len(a.Params) != len(b.Params) || len(a.Fields) != len(b.Fields) {
		return false
	}
	// Parameters are a map in Java: order does not matter for equality.
	for _, p := range a.Params {
		if v, ok := b.Param(p.Key); !ok || v != p.Value {
			return false
		}
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !Equal(a.Fields[i].Schema, b.Fields[i].Schema) {
			return false
		}
	}
	return Equal(a.Value, b.Value) && Equal(a.KeySchema, b.KeySchema)
}

// Key returns a string that is equal for two schemas exactly when Equal holds (for cache keys).
func (s *Schema) Key() string {
	var b strings.Builder
	s.writeKey(&b)
	return b.String()
}

func (s *Schema) writeKey(b *strings.Builder) {
	if s == nil {
		b.WriteString("~")
		return
	}
	fmt.Fprintf(b, "(%d,%t,%q,%q", s.Type, s.Optional, s.Name, s.Doc)
	if s.Version != nil {
		b.WriteString("," + strconv.Itoa(int(*s.Version)))
	} else {
		b.WriteString(",-")
	}
	fmt.Fprintf(b, ",%#v,[", s.Default)
	params := append([]Param(nil), s.Params...)
	sortParams(params)
	for _, p := range params {
		fmt.Fprintf(b, "%q=%q;", p.Key, p.Value)
	}
	b.WriteString("],{")
	for _, f := range s.Fields {
		fmt.Fprintf(b, "%q:", f.Name)
		f.Schema.writeKey(b)
		b.WriteByte(';')
	}
	b.WriteString("},")
	s.Value.writeKey(b)
	b.WriteByte(',')
	s.KeySchema.writeKey(b)
	b.WriteByte(')')
}

func sortParams(ps []Param) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Key < ps[j-1].Key; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// Predefined schemas (Schema.*_SCHEMA constants). They are shared: do not modify them.
var (
	Int32Schema           = &Schema{Type: TypeInt32}
	Int64Schema           = &Schema{Type: TypeInt64}
	StringSchema          = &Schema{Type: TypeString}
	BytesSchema           = &Schema{Type: TypeBytes}
	OptionalInt32Schema   = &Schema{Type: TypeInt32, Optional: true}
	OptionalInt64Schema   = &Schema{Type: TypeInt64, Optional: true}
	OptionalFloat64Schema = &Schema{Type: TypeFloat64, Optional: true}
	OptionalBooleanSchema = &Schema{Type: TypeBoolean, Optional: true}
	OptionalStringSchema  = &Schema{Type: TypeString, Optional: true}
	OptionalBytesSchema   = &Schema{Type: TypeBytes, Optional: true}
)

// DecimalName is the logical name of org.apache.kafka.connect.data.Decimal.
const DecimalName = "org.apache.kafka.connect.data.Decimal"
