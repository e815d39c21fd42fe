package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// On returns the Handler of one event type whose payload is a P: it
// decodes the payload (see Decode) and hands it to h with the event.
//
//	consumer.Mux{"OrderCreated": consumer.On(h.orderCreated)}
//	func (h *Handlers) orderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event, oc events.OrderCreated) error
func On[P any](h func(ctx context.Context, tx pgx.Tx, ev Event, payload P) error) Handler {
	return func(ctx context.Context, tx pgx.Tx, ev Event) error {
		var p P
		if err := Decode(ev, &p); err != nil {
			return err
		}
		return h(ctx, tx, ev, p)
	}
}

// Decode unmarshals ev's payload into v, the event's Go type. Its error
// names the event and is permanent: a payload that does not decode never
// will, so the record is dead-lettered at once.
func Decode(ev Event, v any) error {
	if err := json.Unmarshal(ev.Payload, v); err != nil {
		return Permanent(fmt.Errorf("decode %s %s: %w", ev.Type, ev.ID, err))
	}
	return nil
}

// Validator returns a Config.Validate that checks, with validate (for
// example schemas.Validate), the payload of every event of one of types;
// events of other types pass unchecked, since the handler ignores them.
func Validator(validate func(eventType string, payload []byte) error, types ...string) func(Event) error {
	types = slices.Clone(types)
	return func(ev Event) error {
		if !slices.Contains(types, ev.Type) {
			return nil
		}
		return validate(ev.Type, ev.Payload)
	}
}
