package eventjson

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/outboxcdc/outboxcdc/libs/consumer"
)

// Decode unmarshals ev's payload into v. Its error names the event and is
// permanent.
func Decode(ev consumer.Event, v any) error {
	if err := json.Unmarshal(ev.Payload, v); err != nil {
		return consumer.Permanent(fmt.Errorf("decode %s %s: %w", ev.Type, ev.ID, err))
	}
	return nil
}

// Validator returns a consumer.Config.Validate that checks, with validate,
// the payload of every event of one of types; other events pass.
func Validator(validate func(eventType string, payload []byte) error, types ...string) func(consumer.Event) error {
	types = slices.Clone(types)
	return func(ev consumer.Event) error {
		if !slices.Contains(types, ev.Type) {
			return nil
		}
		return validate(ev.Type, ev.Payload)
	}
}
