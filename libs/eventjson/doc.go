// Package eventjson is what consumer handlers do with JSON event payloads
// before their own logic: check them against their schema on receipt, and
// decode them into the event's Go type.
//
//	cfg.Validate = eventjson.Validator(schemas.Validate, "OrderCreated", "OrderCancelled")
//
//	func (h *Handlers) OrderCreated(ctx context.Context, tx pgx.Tx, ev consumer.Event) error {
//		var oc events.OrderCreated
//		if err := eventjson.Decode(ev, &oc); err != nil {
//			return err // permanent: the record is dead-lettered at once
//		}
//		...
//
// # Contract
//
// A payload that does not decode, or breaks its schema, never will: Decode
// marks its error consumer.Permanent, and a Validator's error makes the
// runtime dead-letter the record (consumer.ErrInvalid). Events of types a
// Validator was not given pass unchecked, since the handler mux ignores
// them. The package knows no schemas: the caller passes the check.
package eventjson
