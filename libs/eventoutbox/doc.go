// Package eventoutbox appends a service's typed events to its outbox table
// (package outbox): each event marshals to its JSON payload and names its
// own routing columns, so no caller spells an aggregate type or event type
// by hand.
//
//	w := eventoutbox.New(eventoutbox.Options{Validate: schemas.Validate, DeleteAfterInsert: true})
//	err := w.Append(ctx, tx, eventoutbox.At(p.UpdatedAt, p.PullEvents()...)...)
//
// # Contract
//
//   - Append writes through the caller's transaction only, in the order
//     given (see outbox.Writer.Append); the events exist if and only if it
//     commits.
//   - Each payload is checked with Options.Validate before anything is
//     written; a payload that fails, or an event that does not marshal,
//     fails Append and so the caller's transaction, instead of shipping a
//     bad event.
//   - A Recorded with an empty ID gets a fresh UUIDv7; one with a zero At
//     occurred now.
//
// The package knows no schemas or event types: schemas/events.Event values
// satisfy Event, and the caller passes the schema check.
package eventoutbox
