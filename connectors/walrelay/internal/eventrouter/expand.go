package eventrouter

import (
	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/jackson"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// expander is Debezium's JsonSchemaData: it infers a Connect schema from a Jackson tree and converts the tree into
// Connect data.
type expander struct {
	nullAsBytes bool // table.json.payload.null.behavior=optional_bytes
}

// schema is JsonSchemaData.toConnectSchema(key, node); key nil stands for Java's null. A nil schema means the
// node contributes no field (null, empty array).
func (e expander) schema(key *string, n *jackson.Node) (*cd.Schema, error) {
	switch n.Kind {
	case jackson.String:
		return cd.OptionalStringSchema, nil
	case jackson.Bool:
		return cd.OptionalBooleanSchema, nil
	case jackson.Number:
		switch n.NumType {
		case jackson.Int:
			return cd.OptionalInt32Schema, nil
		case jackson.Long:
			return cd.OptionalInt64Schema, nil
		}
		return cd.OptionalFloat64Schema, nil
	case jackson.Array:
		if len(n.Elems) == 0 {
			return nil, nil
		}
		elem, err := e.arrayElementSchema(key, n)
		if err != nil {
			return nil, err
		}
		return &cd.Schema{Type: cd.TypeArray, Optional: true, Value: elem}, nil
	case jackson.Object:
		s := &cd.Schema{Type: cd.TypeStruct, Optional: true}
		if key != nil {
			s.Name = *key
		}
		for _, m := range n.Members {
			fieldKey := m.Name
			if key != nil && javafmt.Trim(*key) != "" {
				fieldKey = *key + "." + m.Name
			}
			fs, err := e.schema(&fieldKey, m.Value)
			if err != nil {
				return nil, err
			}
			if fs == nil || s.FieldIndex(m.Name) >= 0 {
				continue
			}
			if m.Name == "" {
				return nil, cd.Errorf(cd.SchemaBuilderExceptionClass, "fieldName cannot be null.")
			}
			s.Fields = append(s.Fields, cd.Field{Name: m.Name, Schema: fs})
		}
		return s, nil
	case jackson.Null:
		if e.nullAsBytes {
			return cd.OptionalBytesSchema, nil
		}
	}
	return nil, nil
}

// arrayElementSchema is JsonSchemaData.toConnectSchemaWithCycles.
func (e expander) arrayElementSchema(key *string, arr *jackson.Node) (*cd.Schema, error) {
	sample, err := e.firstArrayElement(arr)
	if err != nil {
		return nil, err
	}
	if sample.Kind != jackson.Object {
		s, err := e.schema(nil, sample)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return nil, cd.Errorf(cd.ConnectExceptionClass, "Array '%s' has unrecognized member schema.", arr.AsText())
		}
		return s, nil
	}
	// Java collects the element schemas in a HashSet, whose iteration order depends on identity hash codes; the
	// order of first appearance is used here.
	var distinct []*cd.Schema
	for _, el := range arr.Elems {
		if el.Kind != jackson.Object {
			continue
		}
		s, err := e.schema(key, el)
		if err != nil {
			return nil, err
		}
		dup := false
		for _, d := range distinct {
			if cd.Equal(d, s) {
				dup = true
				break
			}
		}
		if !dup {
			distinct = append(distinct, s)
		}
	}
	var merged *cd.Schema
	for _, s := range distinct {
		merged = mergeSchema(merged, s)
	}
	return merged, nil
}

// mergeSchema is JsonSchemaData.mergeSchema. SchemaUtil.copySchemaBasics does not copy "optional", so a merged
// schema is required.
func mergeSchema(left, right *cd.Schema) *cd.Schema {
	if left == nil {
		return right
	}
	fields := append([]cd.Field(nil), left.Fields...)
	for _, f := range right.Fields {
		i := -1
		for k := range fields {
			if fields[k].Name == f.Name {
				i = k
				break
			}
		}
		switch {
		case i < 0:
			fields = append(fields, f)
		case !cd.Equal(fields[i].Schema, f.Schema) && fields[i].Schema.Type == cd.TypeBytes && f.Schema.Type != cd.TypeBytes:
			fields[i] = f
		}
	}
	return &cd.Schema{Type: left.Type, Name: left.Name, Version: left.Version, Doc: left.Doc, Params: left.Params, Fields: fields, Value: left.Value}
}

// firstArrayElement is JsonSchemaData.getFirstArrayElement: the first non-null element, after checking that all
// non-null elements share its node type (and, for numbers, its inferred schema).
func (e expander) firstArrayElement(arr *jackson.Node) (*jackson.Node, error) {
	ref := &jackson.Node{Kind: jackson.Null}
	var refSchema *cd.Schema
	for _, el := range arr.Elems {
		if el.Kind == jackson.Null {
			continue
		}
		if ref.Kind == jackson.Null {
			ref = el
		}
		if el.Kind != ref.Kind {
			return nil, cd.Errorf(cd.ConnectExceptionClass, "Field is not a homogenous array (%s x %s).", ref.AsText(), el.Kind)
		}
		if ref.Kind == jackson.Number {
			if refSchema == nil {
				refSchema, _ = e.schema(nil, ref)
			}
			if s, _ := e.schema(nil, el); s != refSchema {
				return nil, cd.Errorf(cd.ConnectExceptionClass, "Field is not a homogenous array (%s x %s), different number types (%s x %s)", ref.AsText(), el.AsText(), refSchema, s)
			}
		}
	}
	return ref, nil
}

// data is JsonSchemaData.toConnectData.
func (e expander) data(n *jackson.Node, s *cd.Schema) (any, error) {
	if n == nil {
		return nil, nil
	}
	return e.structFrom(n, s)
}

func (e expander) structFrom(n *jackson.Node, s *cd.Schema) (*cd.Struct, error) {
	st, err := cd.NewStruct(s)
	if err != nil {
		return nil, err
	}
	for _, f := range s.Fields {
		if !n.Has(f.Name) {
			continue
		}
		v, err := e.fieldValue(n.Get(f.Name), f.Schema)
		if err != nil {
			return nil, err
		}
		if err := st.Put(f.Name, v); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// fieldValue is JsonSchemaData.getStructFieldValue.
func (e expander) fieldValue(n *jackson.Node, s *cd.Schema) (any, error) {
	switch n.Kind {
	case jackson.String:
		return n.Str, nil
	case jackson.Bool:
		return n.Bool, nil
	case jackson.Number:
		switch n.NumType {
		case jackson.Double:
			return n.Float, nil
		case jackson.Int:
			return int32(n.Int), nil
		case jackson.Long:
			return n.Int, nil
		}
		return cd.Decimal{Unscaled: n.Big, Scale: 0}, nil
	case jackson.Array:
		var elem *cd.Schema
		if s != nil {
			elem = s.Value
		}
		list := make(cd.List, 0, len(n.Elems))
		for _, el := range n.Elems {
			v, err := e.fieldValue(el, elem)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case jackson.Object:
		return e.structFrom(n, s)
	}
	return nil, nil
}
