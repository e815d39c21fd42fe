// Package converter reproduces the Kafka Connect converters that turn a record's Connect data (package
// connectdata) into Kafka bytes exactly as a Connect worker does: JsonConverter (org.apache.kafka.connect.json, with
// and without schemas, BASE64 or NUMERIC decimals, replace.null.with.default) serialized like Kafka's
// JsonSerializer, StringConverter (Object.toString as UTF-8), ByteArrayConverter, and SimpleHeaderConverter
// (Values.convertToString). Errors carry the Java exception class and message (connectdata.Exception).
package converter

import (
	"encoding/base64"
	"math"
	"strconv"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/jackson"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// jsonTypeNames are JsonSchema's type names, by connectdata.Type.
var jsonTypeNames = [...]string{"", "int8", "int16", "int32", "int64", "float", "double", "boolean", "string", "bytes", "array", "map", "struct"}

func dataErrorf(format string, args ...any) error {
	return cd.Errorf(cd.DataExceptionClass, format, args...)
}

// Converter is a Kafka Connect Converter (fromConnectData). It is also used as a HeaderConverter, as Connect's
// StringConverter, JsonConverter and ByteArrayConverter implement both with the same bytes.
type Converter interface {
	FromConnectData(s *cd.Schema, v any) ([]byte, error)
}

// StringConverter is org.apache.kafka.connect.storage.StringConverter with UTF-8 encoding.
type StringConverter struct{}

// FromConnectData writes value.toString() as UTF-8; null stays null.
func (StringConverter) FromConnectData(_ *cd.Schema, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return javafmt.UTF8(x), nil
	}
	s, err := cd.JavaString(v)
	if err != nil {
		return nil, err
	}
	return javafmt.UTF8(s), nil
}

// ByteArrayConverter is org.apache.kafka.connect.converters.ByteArrayConverter.
type ByteArrayConverter struct{}

// FromConnectData passes bytes through and rejects every other schema or value.
func (ByteArrayConverter) FromConnectData(s *cd.Schema, v any) ([]byte, error) {
	if s != nil && s.Type != cd.TypeBytes {
		return nil, dataErrorf("Invalid schema type for ByteArrayConverter: %s", s.Type)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case cd.ByteBuffer:
		return append([]byte{}, x...), nil
	case cd.ByteArray:
		return append([]byte{}, x...), nil
	}
	return nil, dataErrorf("ByteArrayConverter is not compatible with objects of type %s", cd.JavaClass(v))
}

// SimpleHeaderConverter is org.apache.kafka.connect.storage.SimpleHeaderConverter.
type SimpleHeaderConverter struct{}

// FromConnectData writes Values.convertToString(schema, value) as UTF-8; null stays null.
func (SimpleHeaderConverter) FromConnectData(_ *cd.Schema, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return javafmt.UTF8(x), nil
	}
	s, err := cd.HeaderString(v)
	if err != nil {
		return nil, err
	}
	return javafmt.UTF8(s), nil
}

// JSONConverter is org.apache.kafka.connect.json.JsonConverter.
type JSONConverter struct {
	SchemasEnabled bool // schemas.enable (Connect's default: true)
	// DecimalNumeric is decimal.format=NUMERIC (default BASE64).
	DecimalNumeric bool
	// ReplaceNullWithDefault is replace.null.with.default (default true).
	ReplaceNullWithDefault bool
}

// FromConnectData converts like JsonConverter.fromConnectData and serializes like Kafka's JsonSerializer.
func (c JSONConverter) FromConnectData(s *cd.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	if !c.SchemasEnabled {
		return c.appendValue(nil, s, v)
	}
	out := []byte(`{"schema":`)
	if s == nil {
		out = append(out, "null"...)
	} else {
		var err error
		if out, err = c.appendSchema(out, s); err != nil {
			return nil, err
		}
	}
	out = append(out, `,"payload":`...)
	out, err := c.appendValue(out, s, v)
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

// appendSchema writes JsonConverter.asJsonSchema(s).
func (c JSONConverter) appendSchema(dst []byte, s *cd.Schema) ([]byte, error) {
	return c.appendSchemaField(dst, s, "")
}

func (c JSONConverter) appendSchemaField(dst []byte, s *cd.Schema, field string) ([]byte, error) {
	var err error
	dst = append(dst, `{"type":"`...)
	dst = append(dst, jsonTypeNames[s.Type]...)
	dst = append(dst, '"')
	switch s.Type {
	case cd.TypeArray:
		dst = append(dst, `,"items":`...)
		if dst, err = c.appendSchema(dst, s.Value); err != nil {
			return nil, err
		}
	case cd.TypeMap:
		dst = append(dst, `,"keys":`...)
		if dst, err = c.appendSchema(dst, s.KeySchema); err != nil {
			return nil, err
		}
		dst = append(dst, `,"values":`...)
		if dst, err = c.appendSchema(dst, s.Value); err != nil {
			return nil, err
		}
	case cd.TypeStruct:
		dst = append(dst, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = c.appendSchemaField(dst, f.Schema, f.Name); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"optional":`...)
	dst = strconv.AppendBool(dst, s.Optional)
	if s.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = jackson.AppendString(dst, s.Name)
	}
	if s.Version != nil {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(*s.Version), 10)
	}
	if s.Doc != "" {
		dst = append(dst, `,"doc":`...)
		dst = jackson.AppendString(dst, s.Doc)
	}
	if s.Params != nil {
		dst = append(dst, `,"parameters":{`...)
		for i, p := range s.Params {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jackson.AppendString(dst, p.Key)
			dst = append(dst, ':')
			dst = jackson.AppendString(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	if s.Default != nil {
		dst = append(dst, `,"default":`...)
		if dst, err = c.appendValue(dst, s, s.Default); err != nil {
			return nil, err
		}
	}
	if field != "" {
		dst = append(dst, `,"field":`...)
		dst = jackson.AppendString(dst, field)
	}
	return append(dst, '}'), nil
}

// appendValue writes JsonConverter.convertToJson(s, v).
func (c JSONConverter) appendValue(dst []byte, s *cd.Schema, v any) ([]byte, error) {
	if v == nil {
		switch {
		case s == nil:
			return append(dst, "null"...), nil
		case s.Default != nil && c.ReplaceNullWithDefault:
			return c.appendValue(dst, s, s.Default)
		case s.Optional:
			return append(dst, "null"...), nil
		}
		return nil, dataErrorf("Conversion error: null value for field that is required and has no default value")
	}
	if s != nil && s.Name == cd.DecimalName {
		d, ok := v.(cd.Decimal)
		if !ok {
			return nil, dataErrorf("Invalid type for Decimal, expected BigDecimal but was %s", cd.JavaClass(v))
		}
		if c.DecimalNumeric {
			return append(dst, javafmt.BigDecimal(d.Unscaled, d.Scale)...), nil
		}
		scaleStr, ok := s.Param("scale")
		if !ok {
			return nil, dataErrorf("Invalid Decimal schema: scale parameter not found.")
		}
		scale, err := strconv.Atoi(scaleStr)
		if err != nil {
			return nil, cd.Errorf("java.lang.NumberFormatException", "For input string: \"%s\"", scaleStr)
		}
		if int32(scale) != d.Scale {
			return nil, dataErrorf("Decimal value has mismatching scale. Expected scale: %d, actual: %d", scale, d.Scale)
		}
		return appendBinary(dst, cd.ToByteArray(d.Unscaled)), nil
	}
	t, ok := typeOf(s, v)
	if !ok {
		return nil, dataErrorf("Java class %s does not have corresponding schema type.", cd.JavaClass(v))
	}
	bad := func() ([]byte, error) {
		name := "unknown schema"
		if s != nil {
			name = s.Type.String()
		}
		return nil, dataErrorf("Invalid type for %s: %s", name, cd.JavaClass(v))
	}
	switch t {
	case cd.TypeInt8:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(dst, int64(x), 10), nil
	case cd.TypeInt16:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(dst, int64(x), 10), nil
	case cd.TypeInt32:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(dst, int64(x), 10), nil
	case cd.TypeInt64:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(dst, x, 10), nil
	case cd.TypeFloat32:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return jackson.AppendString(dst, javafmt.Float(x)), nil // JsonWriteFeature.WRITE_NAN_AS_STRINGS
		}
		return append(dst, javafmt.Float(x)...), nil
	case cd.TypeFloat64:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return jackson.AppendString(dst, javafmt.Double(x)), nil
		}
		return append(dst, javafmt.Double(x)...), nil
	case cd.TypeBoolean:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		return strconv.AppendBool(dst, x), nil
	case cd.TypeString:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return jackson.AppendString(dst, x), nil
	case cd.TypeBytes:
		switch x := v.(type) {
		case cd.ByteBuffer:
			return appendBinary(dst, x), nil
		case cd.ByteArray:
			return appendBinary(dst, x), nil
		}
		return nil, dataErrorf("Invalid type for bytes type: %s", cd.JavaClass(v))
	case cd.TypeArray:
		list, ok := v.(cd.List)
		if !ok {
			return bad()
		}
		var elem *cd.Schema
		if s != nil {
			elem = s.Value
		}
		dst = append(dst, '[')
		for i, e := range list {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = c.appendValue(dst, elem, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case cd.TypeStruct:
		st, ok := v.(*cd.Struct)
		if !ok {
			return bad()
		}
		if s == nil || !cd.Equal(st.Schema(), s) {
			return nil, dataErrorf("Mismatching schema.")
		}
		dst = append(dst, '{')
		for i, f := range s.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jackson.AppendString(dst, f.Name)
			dst = append(dst, ':')
			var err error
			if dst, err = c.appendValue(dst, f.Schema, st.GetWithoutDefault(i)); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, dataErrorf("Couldn't convert %v to JSON.", v)
}

// typeOf is the schema's type, or ConnectSchema.schemaType(value.getClass()) without a schema.
func typeOf(s *cd.Schema, v any) (cd.Type, bool) {
	if s != nil {
		return s.Type, true
	}
	switch v.(type) {
	case int8:
		return cd.TypeInt8, true
	case int16:
		return cd.TypeInt16, true
	case int32:
		return cd.TypeInt32, true
	case int64:
		return cd.TypeInt64, true
	case float32:
		return cd.TypeFloat32, true
	case float64:
		return cd.TypeFloat64, true
	case bool:
		return cd.TypeBoolean, true
	case string:
		return cd.TypeString, true
	case cd.ByteBuffer, cd.ByteArray:
		return cd.TypeBytes, true
	case cd.List:
		return cd.TypeArray, true
	case *cd.Struct:
		return cd.TypeStruct, true
	}
	return 0, false
}

// appendBinary writes a Jackson binary node: standard base64 with padding, as a JSON string.
func appendBinary(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
