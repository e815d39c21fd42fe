package connectdata

import (
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// JavaString is String.valueOf(value): what StringConverter writes. A byte[] prints as Java's Object.toString
// does, "[B@" and an identity hash code in hex; Java's hash is arbitrary, so a random one stands in for it.
func JavaString(v any) (string, error) {
	var b strings.Builder
	if err := appendJavaString(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func appendJavaString(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int8:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int16:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float32:
		b.WriteString(javafmt.Float(x))
	case float64:
		b.WriteString(javafmt.Double(x))
	case Decimal:
		b.WriteString(javafmt.BigDecimal(x.Unscaled, x.Scale))
	case ByteBuffer:
		n := strconv.Itoa(len(x))
		b.WriteString("java.nio.HeapByteBuffer[pos=0 lim=" + n + " cap=" + n + "]")
	case ByteArray:
		b.WriteString("[B@" + strconv.FormatUint(uint64(identityHash()), 16))
	case List:
		// AbstractCollection.toString
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := appendJavaString(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *Struct:
		// Struct.toString skips null values (raw values, not defaults).
		b.WriteString("Struct{")
		first := true
		for i, f := range x.schema.Fields {
			val := x.values[i]
			if val == nil {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(f.Name)
			b.WriteByte('=')
			if err := appendJavaString(b, val); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return Errorf("walrelay.UnsupportedOperation", "no Java form for %T", v)
	}
	return nil
}

// HeaderString is Values.convertToString(schema, value) for a non-null value: what SimpleHeaderConverter writes.
func HeaderString(v any) (string, error) {
	var b strings.Builder
	if err := appendHeaderValue(&b, v, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

func appendHeaderValue(b *strings.Builder, v any, embedded bool) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case int8, int16, int32, int64, float32, float64, Decimal, bool:
		return appendJavaString(b, x)
	case string:
		if embedded {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), `"`, `\"`))
			b.WriteByte('"')
		} else {
			b.WriteString(x)
		}
	case ByteArray:
		appendBase64(b, x, embedded)
	case ByteBuffer:
		appendBase64(b, x, embedded)
	case List:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendHeaderValue(b, e, true); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *Struct:
		b.WriteByte('{')
		for i, f := range x.schema.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			_ = appendHeaderValue(b, f.Name, true)
			b.WriteByte(':')
			if err := appendHeaderValue(b, x.getIndex(i), true); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return Errorf(DataExceptionClass, "Failed to serialize unexpected value type %T", v)
	}
	return nil
}

func appendBase64(b *strings.Builder, data []byte, embedded bool) {
	if embedded {
		b.WriteByte('"')
	}
	b.WriteString(base64.StdEncoding.EncodeToString(data))
	if embedded {
		b.WriteByte('"')
	}
}

// identityHash stands in for System.identityHashCode: a non-zero 31-bit number with no meaning.
func identityHash() uint32 {
	for {
		if h := rand.Uint32() & 0x7fffffff; h != 0 {
			return h
		}
	}
}
