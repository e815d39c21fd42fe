package connectdata

import (
	"fmt"
	"math/big"
)

// ByteBuffer is a java.nio.HeapByteBuffer wrapping the whole slice (position 0, limit = capacity = len).
type ByteBuffer []byte

// ByteArray is a Java byte[].
type ByteArray []byte

// Decimal is a java.math.BigDecimal: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// List is a java.util.List (an ArrayList).
type List []any

// Exception is a Java exception as it would appear in a Connect task trace.
type Exception struct {
	Class   string
	Message string
}

func (e *Exception) Error() string {
	if e.Message == "" {
		return e.Class
	}
	return e.Class + ": " + e.Message
}

// Java exception classes used in errors.
const (
	DataExceptionClass          = "org.apache.kafka.connect.errors.DataException"
	ConnectExceptionClass       = "org.apache.kafka.connect.errors.ConnectException"
	SchemaBuilderExceptionClass = "org.apache.kafka.connect.errors.SchemaBuilderException"
	NullPointerExceptionClass   = "java.lang.NullPointerException"
)

// Errorf returns an *Exception of the given class.
func Errorf(class, format string, args ...any) error {
	return &Exception{Class: class, Message: fmt.Sprintf(format, args...)}
}

func dataErrorf(format string, args ...any) error {
	return Errorf(DataExceptionClass, format, args...)
}

// JavaClass returns "class <name>" for a value, as Java's value.getClass() prints.
func JavaClass(v any) string {
	switch v.(type) {
	case bool:
		return "class java.lang.Boolean"
	case int8:
		return "class java.lang.Byte"
	case int16:
		return "class java.lang.Short"
	case int32:
		return "class java.lang.Integer"
	case int64:
		return "class java.lang.Long"
	case float32:
		return "class java.lang.Float"
	case float64:
		return "class java.lang.Double"
	case string:
		return "class java.lang.String"
	case ByteBuffer:
		return "class java.nio.HeapByteBuffer"
	case ByteArray:
		return "class [B"
	case Decimal:
		return "class java.math.BigDecimal"
	case List:
		return "class java.util.ArrayList"
	case *Struct:
		return "class org.apache.kafka.connect.data.Struct"
	}
	return fmt.Sprintf("class %T", v)
}

// Struct is a Connect Struct.
type Struct struct {
	schema *Schema
	values []any
}

// NewStruct is new Struct(schema).
func NewStruct(s *Schema) (*Struct, error) {
	if s == nil {
		return nil, Errorf(NullPointerExceptionClass, "Cannot invoke \"org.apache.kafka.connect.data.Schema.type()\" because \"schema\" is null")
	}
	if s.Type != TypeStruct {
		return nil, dataErrorf("Not a struct schema: %s", s)
	}
	return &Struct{schema: s, values: make([]any, len(s.Fields))}, nil
}

// Schema returns the struct's schema.
func (st *Struct) Schema() *Schema { return st.schema }

func (st *Struct) lookup(name string) (int, error) {
	i := st.schema.FieldIndex(name)
	if i < 0 {
		return -1, dataErrorf("%s is not a valid field name", name)
	}
	return i, nil
}

// Put is Struct.put(String, Object): it validates the value against the field's schema.
func (st *Struct) Put(name string, v any) error {
	i, err := st.lookup(name)
	if err != nil {
		return err
	}
	f := st.schema.Fields[i]
	if err := validateValue(f.Schema, v, "field: \""+f.Name+"\""); err != nil {
		return err
	}
	st.values[i] = v
	return nil
}

// Get is Struct.get(String): the value, or the field's default when the value is null.
func (st *Struct) Get(name string) (any, error) {
	i, err := st.lookup(name)
	if err != nil {
		return nil, err
	}
	return st.getIndex(i), nil
}

// GetWithoutDefault is Struct.getWithoutDefault for the i-th field: the value as put, nil when none was, even if
// the field's schema has a default.
func (st *Struct) GetWithoutDefault(i int) any { return st.values[i] }

func (st *Struct) getIndex(i int) any {
	if v := st.values[i]; v != nil {
		return v
	}
	return st.schema.Fields[i].Schema.Default
}

// Validate is Struct.validate().
func (st *Struct) Validate() error {
	for i, f := range st.schema.Fields {
		v := st.values[i]
		if v == nil && (f.Schema.Optional || f.Schema.Default != nil) {
			continue
		}
		if err := validateValue(f.Schema, v, "field: \""+f.Name+"\""); err != nil {
			return err
		}
	}
	return nil
}

func validateValue(s *Schema, v any, location string) error {
	if v == nil {
		if !s.Optional {
			return dataErrorf("Invalid value: null used for required %s, schema type: %s", location, s.Type)
		}
		return nil
	}
	if !classMatches(s, v) {
		msg := "Invalid Java object for schema"
		if s.Name != "" {
			msg += " \"" + s.Name + "\""
		}
		return dataErrorf("%s with type %s: %s for %s", msg, s.Type, JavaClass(v), location)
	}
	switch s.Type {
	case TypeStruct:
		st := v.(*Struct)
		if !Equal(st.schema, s) {
			return dataErrorf("Struct schemas do not match.")
		}
		return st.Validate()
	case TypeArray:
		if s.Value == nil {
			return dataErrorf("No schema defined for element of array %s", location)
		}
		for _, e := range v.(List) {
			if err := validateValue(s.Value, e, "element of array "+location); err != nil {
				return err
			}
		}
	}
	return nil
}

func classMatches(s *Schema, v any) bool {
	if s.Name == DecimalName {
		_, ok := v.(Decimal)
		return ok
	}
	switch s.Type {
	case TypeInt8:
		_, ok := v.(int8)
		return ok
	case TypeInt16:
		_, ok := v.(int16)
		return ok
	case TypeInt32:
		_, ok := v.(int32)
		return ok
	case TypeInt64:
		_, ok := v.(int64)
		return ok
	case TypeFloat32:
		_, ok := v.(float32)
		return ok
	case TypeFloat64:
		_, ok := v.(float64)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeBytes:
		switch v.(type) {
		case ByteBuffer, ByteArray:
			return true
		}
		return false
	case TypeArray:
		_, ok := v.(List)
		return ok
	case TypeStruct:
		_, ok := v.(*Struct)
		return ok
	}
	return false
}

// ToByteArray returns BigInteger.toByteArray(): the minimal big-endian two's-complement form.
func ToByteArray(x *big.Int) []byte {
	var n int
	if x.Sign() >= 0 {
		n = x.BitLen()/8 + 1
	} else {
		n = new(big.Int).Not(x).BitLen()/8 + 1
	}
	u := new(big.Int).Set(x)
	if x.Sign() < 0 {
		u.Add(u, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return u.FillBytes(make([]byte, n))
}
