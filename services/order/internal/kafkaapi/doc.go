// Package kafkaapi is the order service's Kafka adapter: it applies the
// payment and inventory services' events to orders. Each handler runs
// inside the consumer runtime's transaction (the one that claims the event
// in the inbox): it gets the payload decoded into its schemas type and
// calls the domain's use case, order.React, on the order.Book of that
// transaction, with the Apply method the event calls for.
//
// Handled: PaymentCaptured, PaymentFailed (outbox.event.payment) and
// InventoryReserved, InventoryRejected (outbox.event.inventory). Other
// types on those topics are acknowledged and ignored by the mux. An event
// for an unknown order is an error the consumer retries (the order's own
// transaction may not be visible yet, though its event was decoded) and
// dead-letters once its attempts run out; one for a finished order changes
// nothing. A payload that does not decode is a permanent error.
package kafkaapi
