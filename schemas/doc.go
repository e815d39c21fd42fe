// Package schemas holds the JSON Schema (draft 2020-12) of every event in
// the order saga and validates payloads against them.
//
// # Contract
//
// The schemas are embedded files named <aggregate>/<Event>.v<N>.json. Version
// 1 of an event is the plain type string ("OrderCreated"); a later version
// is suffixed ("OrderCreated.v2"), so one topic can carry both while
// consumers migrate. The type string is the outbox type column and the
// Kafka "eventType" header. The Go types of the payloads are in package
// events.
//
// Producers validate before appending to the outbox, so a bad payload fails
// the business transaction instead of reaching Kafka:
//
//	payload, err := schemas.Marshal(events.OrderCreated{...})
//
// or, as the services do, with the outbox writer's hook (libs/outbox),
// which checks every event once on its way out:
//
//	outbox.NewWriter(outbox.Validate(schemas.Validate))
//
// Consumers validate on receipt (the services through libs/consumer's
// Validator) and send what fails (errors.Is(err, ErrInvalid) or
// ErrUnknownType) to the dead-letter topic rather than retry it: a payload
// that breaks its schema never becomes valid.
//
// # Guarantees and limits
//
// Every schema is compiled once, on first use of the package-level
// functions or in New; validation then costs one JSON decode and one tree
// walk, with no I/O. Formats (uuid, date-time) are asserted, not just
// annotated. Schemas are self-contained: external $ref is refused.
//
// Schemas allow additional properties, so producers can add optional fields
// without breaking consumers. A published version only ever changes in
// backward-compatible ways; README.md states the rules and the tests hold
// every published version to its frozen copy in testdata/published.
package schemas
