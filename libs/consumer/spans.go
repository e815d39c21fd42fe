package consumer

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
)

const tracerName = "github.com/outboxcdc/outboxcdc/libs/consumer"

// Span attributes beyond OpenTelemetry's messaging conventions.
const (
	attrEventType = attribute.Key("event.type")
	attrOutcome   = attribute.Key("consumer.outcome")
)

// header returns the value of r's first header named key, "" when none.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// startRecordSpan starts the consumer span of r, child of the span that
// wrote the event (the record's traceparent), and returns ctx holding it as
// the work's entry span.
func (c *Consumer) startRecordSpan(ctx context.Context, r *kgo.Record) (context.Context, trace.Span) {
	ctx = tracecontext.FromTraceParent(ctx, header(r, HeaderTraceParent))
	ctx, span := c.tracer.Start(ctx, "process "+r.Topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", r.Topic),
		attribute.String("messaging.destination.partition.id", strconv.FormatInt(int64(r.Partition), 10)),
		attribute.Int64("messaging.kafka.offset", r.Offset),
		attribute.String("messaging.kafka.message.key", string(r.Key)),
		attribute.String("messaging.consumer.group.name", c.cfg.Group),
		attribute.String("messaging.message.id", header(r, HeaderID)),
		attrEventType.String(header(r, HeaderEventType)),
	))
	return tracing.ContextWithEntrySpan(ctx, span), span
}

// outcome counts an event's outcome in the metrics and on its record span.
func (c *Consumer) outcome(ctx context.Context, topic, typ, outcome string) {
	c.cfg.Metrics.counted(c.cfg.Group, topic, typ, outcome)
	span := trace.SpanFromContext(ctx)
	switch outcome {
	case OutcomeRetried:
		span.AddEvent("retry")
	default:
		span.SetAttributes(attrOutcome.String(outcome))
	}
}

// failed records a failed attempt (retried or final) on the span in ctx.
func failed(ctx context.Context, err error, final bool) {
	span := trace.SpanFromContext(ctx)
	span.RecordError(err)
	if final {
		span.SetStatus(codes.Error, err.Error())
	}
}
