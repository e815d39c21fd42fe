// Package configdef parses configuration property values the way Kafka's ConfigDef
// (org.apache.kafka.common.config.ConfigDef.parseType) does, with ConfigException's message text, so that a
// connector, transformation or converter property means the same on walrelay as on a Kafka Connect worker.
package configdef

import (
	"strings"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/jvmcompat/javafmt"
)

// ConfigException is org.apache.kafka.common.config.ConfigException(name, value, message).
type ConfigException struct {
	Name, Value, Message string
}

// Error is ConfigException's message: "Invalid value <value> for configuration <name>: <message>".
func (e *ConfigException) Error() string {
	return "Invalid value " + e.Value + " for configuration " + e.Name + ": " + e.Message
}

// ParseBool parses a BOOLEAN property: the value trimmed like String.trim (every character <= U+0020 at either
// end, nothing else), then "true" or "false" in any case. Anything else is a *ConfigException carrying the value
// as given, blank values included: a property that is present is parsed, never replaced by its default.
func ParseBool(name, value string) (bool, error) {
	switch v := javafmt.Trim(value); {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, &ConfigException{Name: name, Value: value, Message: "Expected value to be either true or false"}
}

// Bool reads the BOOLEAN property name from props as ConfigDef.parse does: def when the key is absent, else
// ParseBool of its value (def with the error when that fails).
func Bool(props map[string]string, name string, def bool) (bool, error) {
	v, ok := props[name]
	if !ok {
		return def, nil
	}
	b, err := ParseBool(name, v)
	if err != nil {
		return def, err
	}
	return b, nil
}
