// Package waterfall draws one order's saga, as the services traced it,
// into a self-contained HTML page: a waterfall of its spans with the Kafka
// hops between the services.
//
// # Finding the trace
//
// Client reads Jaeger's query HTTP API (GET /api/traces, the JSON its UI
// reads: Answer, Trace, Span). OrderTrace searches service order-service
// for spans with the tag order.id, first only the placement's "place
// order" span, then, when that finds nothing, every trace of the order:
// Jaeger answers newest first up to a limit, and each GET /orders/{id}
// makes a trace of its own. Of the traces found, Pick takes the one
// holding the placement (a "place order" or "POST /orders" span), else the
// one with the most spans. The search window starts at the given time
// (Jaeger's start parameter; the UI's lookback never reaches the API);
// without one Jaeger searches its default, the last two days. When nothing
// matches the error wraps ErrNoTrace; when Jaeger does not answer,
// ErrUnreachable.
//
// # The spans it expects
//
// The services name their spans "<METHOD> <route>" (server), "place order"
// (the placement's transaction), "process <topic>" (a consumed record,
// kind consumer, child of the span that wrote the event, in another
// service) and "handle <EventType>" (the handler's work). Jaeger shows
// attributes as tags, array attributes as JSON strings, the span kind as
// span.kind and an error status as error=true and otel.status_code=ERROR.
// The tags read are messaging.destination.name,
// messaging.destination.partition.id, messaging.kafka.offset, event.type,
// consumer.outcome, outbox.event_types, order.id,
// http.response.status_code and the "retry" events; any other span is
// drawn too, by its name and times.
//
// # The layout
//
// Build lays a trace out; it depends on nothing but the trace, so the same
// trace always gives the same drawing, whatever the order of its spans:
//
//   - one row per span (a repeated span ID once), grouped by service under
//     a heading, the services in the order of their first span, the rows
//     of a service in time order (ties: ancestors first, then span ID);
//   - bars on one time axis from the trace's first start (x proportional
//     to the start, width to the duration, at least 2 px), with round
//     ticks;
//   - a span whose parent is in its own service indented one step below
//     it; a span whose parent is missing from the trace marked "parent not
//     in trace";
//   - for every consumer span whose parent is in another service, a Hop:
//     a connector from the end of the parent's bar to the start of the
//     consumer's, labelled <topic>/<partition>@<offset> and the time from
//     the parent's end to the consumer's start (negative under clock
//     skew);
//   - compensation marked on every span that consumes, handles or writes
//     OrderCancelled, PaymentRefunded or InventoryReleased; the saga
//     failures that trigger it (PaymentFailed, InventoryRejected) marked
//     likewise; a failure marked on a dead-lettered record, an error
//     status (with its description, cut to 48 characters) and a 5xx
//     answer; a record's retries (its "retry" events) and a duplicate
//     delivery noted; every tag and event of a span in its row's tooltip;
//   - the drawing Width wide, or wider when the text after a bar needs
//     it.
//
// # The page
//
// Render writes the layout as HTML with inline CSS and one inline SVG,
// through html/template, so every name and tag from Jaeger is escaped
// text. The page needs no script and loads nothing. Its stable hooks:
// svg.waterfall (data-trace-id); g.service (data-service) per heading;
// g.row per span (data-span-id, data-parent-span-id, data-service,
// data-kind, data-operation, data-event-type, data-start-us,
// data-duration-us) with the classes compensation, trigger, failure and
// duplicate as they apply and a g.badge.compensation-badge reading
// "compensation"; g.hop per hop (data-from-span-id, data-to-span-id,
// data-topic, data-partition, data-offset, data-gap-us) with its
// path.connector and text.hop-label.
package waterfall
