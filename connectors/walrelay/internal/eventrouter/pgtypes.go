package eventrouter

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	cd "github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/connectdata"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// PostgreSQL type OIDs this package maps to Connect types the way Debezium's PostgresValueConverter does with its
// defaults (decimal.handling.mode=precise, time.precision.mode=adaptive, binary.handling.mode=bytes).
const (
	OIDBool        uint32 = 16
	OIDBytea       uint32 = 17
	OIDInt8        uint32 = 20
	OIDInt2        uint32 = 21
	OIDInt4        uint32 = 23
	OIDText        uint32 = 25
	OIDOID         uint32 = 26
	OIDJSON        uint32 = 114
	OIDXML         uint32 = 142
	OIDFloat4      uint32 = 700
	OIDFloat8      uint32 = 701
	OIDBpchar      uint32 = 1042
	OIDVarchar     uint32 = 1043
	OIDDate        uint32 = 1082
	OIDTimestamp   uint32 = 1114
	OIDTimestamptz uint32 = 1184
	OIDNumeric     uint32 = 1700
	OIDUUID        uint32 = 2950
	OIDJSONB       uint32 = 3802
)

// Debezium logical type names.
const (
	jsonName           = "io.debezium.data.Json"
	uuidName           = "io.debezium.data.Uuid"
	xmlName            = "io.debezium.data.Xml"
	varScaleName       = "io.debezium.data.VariableScaleDecimal"
	timestampName      = "io.debezium.time.Timestamp"
	microTimestampName = "io.debezium.time.MicroTimestamp"
	zonedTimestampName = "io.debezium.time.ZonedTimestamp"
	dateName           = "io.debezium.time.Date"
)

// PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY, which Debezium reads as microseconds.
const (
	pgPositiveInfinity int64 = 9223372036825200000
	pgNegativeInfinity int64 = -9223372036832400000
)

// columnSchema returns the Connect schema Debezium gives the column. Schemas are immutable, so columns of the same
// type share one: only numeric(p,s) builds a new schema each time.
func columnSchema(c *Column) (*cd.Schema, error) {
	opt := 0
	if !c.NotNull {
		opt = 1
	}
	switch c.TypeOID {
	case OIDBool:
		return boolSchemas[opt], nil
	case OIDInt2:
		return int16Schemas[opt], nil
	case OIDInt4:
		return int32Schemas[opt], nil
	case OIDInt8, OIDOID:
		return int64Schemas[opt], nil
	case OIDFloat4:
		return float32Schemas[opt], nil
	case OIDFloat8:
		return float64Schemas[opt], nil
	case OIDText, OIDVarchar, OIDBpchar:
		return stringSchemas[opt], nil
	case OIDJSON, OIDJSONB:
		return jsonSchemas[opt], nil
	case OIDUUID:
		return uuidSchemas[opt], nil
	case OIDXML:
		return xmlSchemas[opt], nil
	case OIDBytea:
		return bytesSchemas[opt], nil
	case OIDDate:
		return dateSchemas[opt], nil
	case OIDTimestamp:
		if timePrecision(c.TypeMod) <= 3 {
			return timestampSchemas[opt], nil
		}
		return microTimestampSchemas[opt], nil
	case OIDTimestamptz:
		return zonedTimestampSchemas[opt], nil
	case OIDNumeric:
		precision, scale, ok := numericTypmod(c.TypeMod)
		if !ok {
			return varScaleSchemas[opt], nil
		}
		return &cd.Schema{Type: cd.TypeBytes, Optional: opt == 1, Name: cd.DecimalName, Version: cd.Version(1),
			Params: []cd.Param{{Key: "scale", Value: strconv.Itoa(scale)}, {Key: "connect.decimal.precision", Value: strconv.Itoa(precision)}}}, nil
	}
	return nil, unsupportedType(c)
}

// The column schemas of the fixed-shape types, [required, optional]. Shared: never modify them.
var (
	boolSchemas           = schemaPair(cd.Schema{Type: cd.TypeBoolean})
	int16Schemas          = schemaPair(cd.Schema{Type: cd.TypeInt16})
	int32Schemas          = schemaPair(cd.Schema{Type: cd.TypeInt32})
	int64Schemas          = schemaPair(cd.Schema{Type: cd.TypeInt64})
	float32Schemas        = schemaPair(cd.Schema{Type: cd.TypeFloat32})
	float64Schemas        = schemaPair(cd.Schema{Type: cd.TypeFloat64})
	stringSchemas         = schemaPair(cd.Schema{Type: cd.TypeString})
	jsonSchemas           = schemaPair(cd.Schema{Type: cd.TypeString, Name: jsonName, Version: cd.Version(1)})
	uuidSchemas           = schemaPair(cd.Schema{Type: cd.TypeString, Name: uuidName, Version: cd.Version(1)})
	xmlSchemas            = schemaPair(cd.Schema{Type: cd.TypeString, Name: xmlName, Version: cd.Version(1)})
	bytesSchemas          = schemaPair(cd.Schema{Type: cd.TypeBytes})
	dateSchemas           = schemaPair(cd.Schema{Type: cd.TypeInt32, Name: dateName, Version: cd.Version(1)})
	timestampSchemas      = schemaPair(cd.Schema{Type: cd.TypeInt64, Name: timestampName, Version: cd.Version(1)})
	microTimestampSchemas = schemaPair(cd.Schema{Type: cd.TypeInt64, Name: microTimestampName, Version: cd.Version(1)})
	zonedTimestampSchemas = schemaPair(cd.Schema{Type: cd.TypeString, Name: zonedTimestampName, Version: cd.Version(1)})
	varScaleSchemas       = schemaPair(cd.Schema{Type: cd.TypeStruct, Name: varScaleName, Version: cd.Version(1),
		Doc: "Variable scaled decimal", Fields: []cd.Field{{Name: "scale", Schema: cd.Int32Schema}, {Name: "value", Schema: cd.BytesSchema}}})
)

func schemaPair(s cd.Schema) [2]*cd.Schema {
	required, optional := s, s
	optional.Optional = true
	return [2]*cd.Schema{&required, &optional}
}

func unsupportedType(c *Column) error {
	return fmt.Errorf("walrelay: column %q has type oid %d, which the outbox router does not map to a Kafka Connect type (supported: bool, int2, int4, int8, oid, float4, float8, numeric, text, varchar, bpchar, json, jsonb, uuid, xml, bytea, date, timestamp, timestamptz)", c.Name, c.TypeOID)
}

// timePrecision is the fractional-second precision of a timestamp column (6 without a typmod).
func timePrecision(typmod int32) int {
	if typmod < 0 {
		return 6
	}
	return int(typmod)
}

// numericTypmod decodes numeric(p,s); ok is false for an unconstrained numeric.
func numericTypmod(typmod int32) (precision, scale int, ok bool) {
	if typmod < 4 {
		return 0, 0, false
	}
	t := typmod - 4
	precision = int(t>>16) & 0xFFFF
	scale = int(((t & 0x7FF) ^ 1024) - 1024) // PostgreSQL 15 allows negative scales
	return precision, scale, true
}

// rowValue is columnValue for a row of a change with operation op. Debezium's snapshot reads dates through JDBC,
// where infinity and -infinity are java.sql.Dates of PGStatement.DATE_POSITIVE_INFINITY and
// DATE_NEGATIVE_INFINITY milliseconds: their toLocalDate().toEpochDay() is not what the stream's text gives.
func rowValue(c *Column, s *cd.Schema, op Op) (any, error) {
	if op == OpRead && c.TypeOID == OIDDate && !c.Null {
		switch string(c.Value) {
		case "infinity":
			return int32(-622191234), nil // new java.sql.Date(9223372036825200000L): +292278994-08-16
		case "-infinity":
			return int32(-625821272), nil // new java.sql.Date(-9223372036832400000L): +292269055-12-02
		}
	}
	return columnValue(c, s)
}

// columnValue converts the column's text value into the Java value Debezium puts in the record.
func columnValue(c *Column, s *cd.Schema) (any, error) {
	if c.Null {
		return nil, nil
	}
	switch c.TypeOID {
	case OIDText, OIDVarchar, OIDBpchar, OIDJSON, OIDJSONB, OIDUUID, OIDXML:
		return javafmt.DecodeString(c.Value), nil
	}
	text := string(c.Value)
	bad := func(err error) error {
		return fmt.Errorf("walrelay: column %q: cannot read %q as type oid %d: %w", c.Name, text, c.TypeOID, err)
	}
	switch c.TypeOID {
	case OIDBool:
		switch text {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, bad(fmt.Errorf("not t or f"))
	case OIDInt2:
		v, err := strconv.ParseInt(text, 10, 16)
		if err != nil {
			return nil, bad(err)
		}
		return int16(v), nil
	case OIDInt4:
		v, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return nil, bad(err)
		}
		return int32(v), nil
	case OIDInt8, OIDOID:
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, bad(err)
		}
		return v, nil
	case OIDFloat4:
		v, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return nil, bad(err)
		}
		return float32(v), nil
	case OIDFloat8:
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, bad(err)
		}
		return v, nil
	case OIDBytea:
		b, err := decodeBytea(text)
		if err != nil {
			return nil, bad(err)
		}
		if c.Unavailable {
			return cd.ByteArray(b), nil
		}
		return cd.ByteBuffer(b), nil
	case OIDDate:
		days, err := parseDate(text)
		if err != nil {
			return nil, bad(err)
		}
		return days, nil
	case OIDTimestamp:
		micros, err := parseTimestamp(text, false)
		if err != nil {
			return nil, bad(err)
		}
		if s.Name == timestampName {
			return floorDiv(micros, 1000), nil
		}
		return micros, nil
	case OIDTimestamptz:
		micros, err := parseTimestamp(text, true)
		if err != nil {
			return nil, bad(err)
		}
		return zonedTimestamp(text, micros, c.TypeMod), nil
	case OIDNumeric:
		return numericValue(c, s, text)
	}
	return nil, unsupportedType(c)
}

// numericValue follows PostgresValueConverter.convertDecimal in precise mode.
func numericValue(c *Column, s *cd.Schema, text string) (any, error) {
	switch text {
	case "NaN", "Infinity", "-Infinity":
		return nil, cd.Errorf(cd.ConnectExceptionClass, "Got a special value (NaN/Infinity) for Decimal type in column %s but current mode does not handle it. If you need to support it then set decimal handling mode to 'string'.", c.Name)
	}
	unscaled, scale, err := parseDecimal(text)
	if err != nil {
		return nil, fmt.Errorf("walrelay: column %q: cannot read %q as numeric: %w", c.Name, text, err)
	}
	if s.Type == cd.TypeStruct { // VariableScaleDecimal: stripTrailingZeros, never a negative scale
		ten := big.NewInt(10)
		m := new(big.Int)
		for scale > 0 && unscaled.Sign() != 0 {
			q, r := new(big.Int).QuoRem(unscaled, ten, m)
			if r.Sign() != 0 {
				break
			}
			unscaled, scale = q, scale-1
		}
		if unscaled.Sign() == 0 {
			scale = 0
		}
		st, err := cd.NewStruct(s)
		if err != nil {
			return nil, err
		}
		if err := st.Put("value", cd.ByteArray(cd.ToByteArray(unscaled))); err != nil {
			return nil, err
		}
		if err := st.Put("scale", scale); err != nil {
			return nil, err
		}
		return st, nil
	}
	want, _ := s.Param("scale")
	target, _ := strconv.Atoi(want)
	for int(scale) < target {
		unscaled = new(big.Int).Mul(unscaled, big.NewInt(10))
		scale++
	}
	for int(scale) > target {
		q, r := new(big.Int).QuoRem(unscaled, big.NewInt(10), new(big.Int))
		if r.Sign() != 0 {
			return nil, cd.Errorf("java.lang.ArithmeticException", "Rounding necessary")
		}
		unscaled, scale = q, scale-1
	}
	return cd.Decimal{Unscaled: unscaled, Scale: scale}, nil
}

// parseDecimal reads PostgreSQL's numeric text ("-12.340", "1E+5" never appears: numeric_out is plain).
func parseDecimal(text string) (*big.Int, int32, error) {
	digits := text
	var scale int32
	if i := strings.IndexByte(text, '.'); i >= 0 {
		digits = text[:i] + text[i+1:]
		scale = int32(len(text) - i - 1)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, 0, fmt.Errorf("not a decimal number")
	}
	return u, scale, nil
}

// decodeBytea reads bytea_output=hex ("\x0102") or escape format.
func decodeBytea(text string) ([]byte, error) {
	if strings.HasPrefix(text, `\x`) {
		return hex.DecodeString(text[2:])
	}
	var out []byte
	for i := 0; i < len(text); i++ {
		if text[i] != '\\' {
			out = append(out, text[i])
			continue
		}
		if i+1 < len(text) && text[i+1] == '\\' {
			out = append(out, '\\')
			i++
			continue
		}
		if i+3 < len(text) {
			v, err := strconv.ParseUint(text[i+1:i+4], 8, 8)
			if err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		return nil, fmt.Errorf("bad bytea escape at %d", i)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysFromCivil returns days since 1970-01-01 in the proleptic Gregorian calendar (astronomical year numbering).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// parseDateParts reads "YYYY-MM-DD" at the start of s and returns the rest.
func parseDateParts(s string) (y, m, d int64, rest string, err error) {
	i := strings.IndexByte(s, '-')
	if i <= 0 || len(s) < i+6 || s[i+3] != '-' {
		return 0, 0, 0, "", fmt.Errorf("bad date")
	}
	if y, err = strconv.ParseInt(s[:i], 10, 64); err != nil {
		return
	}
	if m, err = strconv.ParseInt(s[i+1:i+3], 10, 64); err != nil {
		return
	}
	if d, err = strconv.ParseInt(s[i+4:i+6], 10, 64); err != nil {
		return
	}
	return y, m, d, s[i+6:], nil
}

func parseDate(text string) (int32, error) {
	// Debezium reads infinity and -infinity as the LocalDates -5877611-06-21 and -5877611-06-22.
	switch text {
	case "infinity":
		return int32(daysFromCivil(-5877611, 6, 21)), nil
	case "-infinity":
		return int32(daysFromCivil(-5877611, 6, 22)), nil
	}
	bc := strings.HasSuffix(text, " BC")
	y, m, d, rest, err := parseDateParts(strings.TrimSuffix(text, " BC"))
	if err != nil {
		return 0, err
	}
	if rest != "" {
		return 0, fmt.Errorf("bad date")
	}
	if bc {
		y = 1 - y
	}
	return int32(daysFromCivil(y, m, d)), nil
}

// parseTimestamp reads timestamp / timestamptz text (DateStyle ISO) into microseconds since the epoch, UTC.
func parseTimestamp(text string, withZone bool) (int64, error) {
	switch text {
	case "infinity":
		return pgPositiveInfinity, nil
	case "-infinity":
		return pgNegativeInfinity, nil
	}
	bc := strings.HasSuffix(text, " BC")
	s := strings.TrimSuffix(text, " BC")
	y, mo, d, rest, err := parseDateParts(s)
	if err != nil {
		return 0, err
	}
	if len(rest) < 9 || rest[0] != ' ' || rest[3] != ':' || rest[6] != ':' {
		return 0, fmt.Errorf("bad time")
	}
	h, err1 := strconv.ParseInt(rest[1:3], 10, 64)
	mi, err2 := strconv.ParseInt(rest[4:6], 10, 64)
	sec, err3 := strconv.ParseInt(rest[7:9], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("bad time")
	}
	rest = rest[9:]
	var micros int64
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac := rest[1:j]
		if frac == "" || len(frac) > 6 {
			return 0, fmt.Errorf("bad fraction")
		}
		micros, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		rest = rest[j:]
	}
	var offset int64
	if withZone {
		if rest == "" || (rest[0] != '+' && rest[0] != '-') {
			return 0, fmt.Errorf("missing zone offset")
		}
		sign := int64(1)
		if rest[0] == '-' {
			sign = -1
		}
		parts := strings.Split(rest[1:], ":")
		mult := []int64{3600, 60, 1}
		if len(parts) > 3 {
			return 0, fmt.Errorf("bad zone offset")
		}
		for k, p := range parts {
			v, err := strconv.ParseInt(p, 10, 64)
			if err != nil || len(p) != 2 {
				return 0, fmt.Errorf("bad zone offset")
			}
			offset += v * mult[k]
		}
		offset *= sign
		rest = ""
	}
	if rest != "" {
		return 0, fmt.Errorf("unexpected %q", rest)
	}
	if bc {
		y = 1 - y
	}
	secs := daysFromCivil(y, mo, d)*86400 + h*3600 + mi*60 + sec - offset
	if secs > math.MaxInt64/1_000_000-1 || secs < math.MinInt64/1_000_000+1 {
		return 0, fmt.Errorf("timestamp out of range")
	}
	return secs*1_000_000 + micros, nil
}

// zonedTimestamp formats a timestamptz like Debezium's PostgresValueConverter.convertTimestampWithZone with
// ZonedTimestamp.toIsoString in UTC: the fraction has exactly as many digits as the column's precision (6 for a
// plain timestamptz), and ISO_OFFSET_DATE_TIME's shortest fraction for timestamptz(0); infinity and -infinity stay
// PostgreSQL's text.
func zonedTimestamp(text string, micros int64, typmod int32) string {
	switch text {
	case "infinity", "-infinity":
		return text
	}
	secs := floorDiv(micros, 1_000_000)
	return isoUTC(secs, micros-secs*1_000_000, timePrecision(typmod))
}

// isoUTC formats an instant as DateTimeFormatter.ISO_OFFSET_DATE_TIME with offset Z: seconds always printed, years
// beyond 9999 with '+', negative years with '-', and the fraction with as many digits as needed (width <= 0) or
// with exactly width digits (1 to 6).
func isoUTC(secs, fracMicros int64, width int) string {
	days := floorDiv(secs, 86400)
	sod := secs - days*86400
	y, m, d := civilFromDays(days)
	var b strings.Builder
	switch {
	case y > 9999:
		b.WriteString("+" + strconv.FormatInt(y, 10))
	case y < 0:
		fmt.Fprintf(&b, "-%04d", -y)
	default:
		fmt.Fprintf(&b, "%04d", y)
	}
	fmt.Fprintf(&b, "-%02d-%02dT%02d:%02d:%02d", m, d, sod/3600, sod/60%60, sod%60)
	switch {
	case width > 0:
		b.WriteString("." + fmt.Sprintf("%06d", fracMicros)[:min(width, 6)])
	case fracMicros != 0:
		b.WriteString("." + strings.TrimRight(fmt.Sprintf("%06d", fracMicros), "0"))
	}
	b.WriteString("Z")
	return b.String()
}
