package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/codes"

	"github.com/outboxcdc/outboxcdc/libs/inbox"
	"github.com/outboxcdc/outboxcdc/libs/pgtx"
)

// handle takes one record to a final state: processed (or skipped as a
// duplicate), ignored (a type the handler does not take, finished without a
// transaction), or dead-lettered. It reports false when stop ended it first;
// the record is then left for redelivery. Each attempt runs to its end (or
// its AttemptTimeout) even after stop; stop only prevents further attempts.
func (c *Consumer) handle(stop context.Context, cl *kgo.Client, r *kgo.Record) bool {
	// The record's span covers every attempt and the dead-lettering; stop
	// keeps its cancellation and gains the span.
	stop, span := c.startRecordSpan(stop, r)
	defer span.End()
	log := c.log.With("topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
	ev, err := decode(r)
	if err != nil {
		return c.deadLetter(stop, cl, r, ev, err, 1, log)
	}
	if !c.takes(ev.Type) {
		c.outcome(stop, ev.Topic, ev.Type, OutcomeIgnored)
		return true
	}
	log = log.With("event_id", ev.ID, "event_type", ev.Type)
	validate := c.validator(ev)
	counted := 0
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.outcome(stop, ev.Topic, ev.Type, OutcomeRetried)
		}
		outcome, err := c.attempt(stop, ev, validate, log)
		if err == nil {
			c.outcome(stop, ev.Topic, ev.Type, outcome)
			return true
		}
		failed(stop, err, false)
		switch classify(err) {
		case permanent:
			if pe := (*panicError)(nil); errors.As(err, &pe) {
				log.Error("handler panicked", "attempt", attempt, "error", err, "stack", string(pe.stack))
			}
			return c.deadLetterUnlessCommitted(stop, cl, r, ev, err, attempt, log)
		case unavailable:
			log.Warn("postgresql unavailable; retrying", "attempt", attempt, "error", err)
		default:
			counted++
			if counted >= c.cfg.MaxAttempts {
				return c.deadLetterUnlessCommitted(stop, cl, r, ev, fmt.Errorf("attempts exhausted: %w", err), attempt, log)
			}
			log.Warn("event failed; retrying", "attempt", attempt, "error", err)
		}
		if !sleep(stop, backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter)) {
			log.Info("stopped before the event was handled; it will be redelivered", "attempt", attempt)
			return false
		}
	}
}

// takes reports whether the handler takes events of type typ: those in
// Config.Types, or every type when it is empty.
func (c *Consumer) takes(typ string) bool { return c.types == nil || c.types[typ] }

// ignore records r, whose event ev is of a type the handler does not take,
// as handle would: its record span and its ignored count, nothing else.
func (c *Consumer) ignore(ctx context.Context, r *kgo.Record, ev Event) {
	ctx, span := c.startRecordSpan(ctx, r)
	defer span.End()
	c.outcome(ctx, ev.Topic, ev.Type, OutcomeIgnored)
}

// attemptContext detaches an attempt from stop, so the attempt in flight
// finishes, and bounds it by AttemptTimeout.
func (c *Consumer) attemptContext(stop context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(stop), c.cfg.AttemptTimeout)
}

// validator returns ev's check by Config.Validate, run at most once however
// many attempts the event takes: the check depends on the payload alone.
func (c *Consumer) validator(ev Event) func() error {
	if c.cfg.Validate == nil {
		return func() error { return nil }
	}
	return sync.OnceValue(func() error { return c.cfg.Validate(ev) })
}

// attempt runs one transaction: claim the event in the inbox, then (for a
// new event) validate it and call the handler, then commit. It returns
// OutcomeProcessed, or OutcomeDuplicate for an event the inbox had. The
// transaction is pgtx's, so what the handler writes (outbox rows) can be
// counted once it commits.
func (c *Consumer) attempt(stop context.Context, ev Event, validate func() error, log *slog.Logger) (string, error) {
	ctx, cancel := c.attemptContext(stop)
	defer cancel()
	// The BEGIN travels with the inbox claim.
	tx, err := pgtx.Begin(ctx, pgtx.Deferred{Pool: c.cfg.Pool})
	if err != nil {
		return "", &unavailableError{fmt.Errorf("consumer: begin: %w", err)}
	}
	defer rollback(ctx, tx)
	claimed, err := inbox.Claim(ctx, tx, c.cfg.InboxTable, c.cfg.Group, ev.ID, inbox.Meta{
		Topic: ev.Topic, Partition: ev.Partition, Offset: ev.Offset, EventType: ev.Type, Outcome: inbox.Processed,
	})
	if err != nil {
		return "", beginError(err)
	}
	outcome := OutcomeProcessed
	if claimed {
		start := time.Now()
		err := c.call(ctx, tx, ev, validate)
		c.cfg.Metrics.handled(c.cfg.Group, ev.Topic, ev.Type, time.Since(start))
		if err != nil {
			return "", err
		}
	} else {
		outcome = OutcomeDuplicate
		log.Debug("duplicate event skipped")
	}
	if err := tx.Commit(ctx); err != nil {
		return "", &commitUnknownError{fmt.Errorf("consumer: commit: %w", err)}
	}
	return outcome, nil
}

// call runs validate and the handler, turning a panic into a permanent
// error.
func (c *Consumer) call(ctx context.Context, tx pgx.Tx, ev Event, validate func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(&panicError{value: v, stack: debug.Stack()})
		}
	}()
	if err := validate(); err != nil {
		return Permanent(fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	// The handler runs in a span under the record's, in the trace of the
	// event's writer, so events it appends to its own outbox carry the
	// same trace onward.
	ctx, span := c.tracer.Start(ctx, "handle "+ev.Type)
	defer span.End()
	if err := c.cfg.Handler(ctx, tx, ev); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	return nil
}

func rollback(ctx context.Context, tx pgx.Tx) {
	// The attempt's context may have expired; the rollback gets its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(rctx) // after Commit this is a no-op; otherwise the error is the attempt's
}

// deadLetterUnlessCommitted dead-letters the record, unless the last
// attempt failed at its commit and the inbox shows that the commit did
// happen: then the event's effect took place once, and it is done. The
// inbox is asked until it answers (or stop), since a lost commit answer
// usually means a lost connection.
func (c *Consumer) deadLetterUnlessCommitted(stop context.Context, cl *kgo.Client, r *kgo.Record, ev Event, cause error, attempts int, log *slog.Logger) bool {
	var cu *commitUnknownError
	if !errors.As(cause, &cu) {
		return c.deadLetter(stop, cl, r, ev, cause, attempts, log)
	}
	for n := 1; ; n++ {
		ctx, cancel := c.attemptContext(stop)
		outcome, found, err := inbox.Lookup(ctx, c.cfg.Pool, c.cfg.InboxTable, c.cfg.Group, ev.ID)
		cancel()
		switch {
		case err == nil && found && outcome == inbox.Processed:
			log.Warn("the commit reported an error but took place; the event is processed, not dead-lettered",
				"attempt", attempts, "error", cause)
			c.outcome(stop, ev.Topic, ev.Type, OutcomeProcessed)
			return true
		case err == nil:
			return c.deadLetter(stop, cl, r, ev, cause, attempts, log)
		}
		log.Warn("checking whether a failed commit took place; retrying", "attempt", n, "error", err)
		if !sleep(stop, backoff(n, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter)) {
			log.Info("stopped before the commit's outcome was known; the event will be redelivered")
			return false
		}
	}
}

// deadLetter produces the record to its dead-letter topic, retrying until
// the broker acknowledges it, then claims the event in the inbox as
// dead-lettered (when it has an id). It reports false when stop ended it
// first; the record is then left for redelivery.
func (c *Consumer) deadLetter(stop context.Context, cl *kgo.Client, r *kgo.Record, ev Event, cause error, attempts int, log *slog.Logger) bool {
	dlq := r.Topic + DLQSuffix
	reason := cause.Error()
	if len(reason) > maxDLQErrorLen {
		reason = strings.ToValidUTF8(reason[:maxDLQErrorLen], "") + "…"
	}
	dlqHeaders := []kgo.RecordHeader{
		{Key: HeaderDLQError, Value: []byte(reason)},
		{Key: HeaderDLQAttempts, Value: []byte(strconv.Itoa(attempts))},
		{Key: HeaderDLQOriginalTopic, Value: []byte(r.Topic)},
		{Key: HeaderDLQOriginalPartition, Value: []byte(strconv.FormatInt(int64(r.Partition), 10))},
		{Key: HeaderDLQOriginalOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		{Key: HeaderDLQGroup, Value: []byte(c.cfg.Group)},
		{Key: HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	}
	value, original := r.Value, r.Headers
	var dropped []kgo.RecordHeader
	for n := 1; ; n++ {
		ctx, cancel := c.attemptContext(stop)
		// A fresh record per try: the client owns a record until its
		// produce finishes.
		headers := slices.Concat(original, dlqHeaders, dropped)
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: dlq, Key: r.Key, Value: value, Headers: headers}).FirstErr()
		cancel()
		if err == nil {
			break
		}
		if tooLarge(err) && (value != nil || len(original) > len(routingHeaders(r.Headers))) {
			// Retrying the same record can never succeed, and the
			// partition would wait forever: keep the key, the reason and
			// the routing headers, leave out the bulk, and say so.
			what := fmt.Sprintf("value of %d bytes", len(r.Value))
			if value == nil {
				original = routingHeaders(r.Headers)
				what = fmt.Sprintf("value of %d bytes and headers other than id, eventType and traceparent", len(r.Value))
			}
			value = nil
			dropped = []kgo.RecordHeader{{Key: HeaderDLQValueDropped, Value: []byte(what + ": " + err.Error())}}
			log.Error("dead letter refused as too large; producing it without its "+what, "dlq_topic", dlq, "error", err)
			continue
		}
		log.Error("dead-letter produce failed; retrying", "dlq_topic", dlq, "attempt", n, "error", err)
		if !sleep(stop, backoff(n, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter)) {
			log.Info("stopped before the record was dead-lettered; it will be redelivered")
			return false
		}
	}
	log.Error("record dead-lettered", "dlq_topic", dlq, "attempt", attempts, "error", cause)
	c.outcome(stop, r.Topic, ev.Type, OutcomeDeadLettered)
	failed(stop, cause, true)
	if ev.ID == "" {
		return true
	}
	counted := 0
	for n := 1; ; n++ {
		err := c.claimDeadLettered(stop, ev)
		if err == nil {
			return true
		}
		if classify(err) != unavailable {
			// The record is safe in the dead-letter topic: after bounded
			// retries move on without the row rather than stall the
			// partition; only a re-produced copy of the event could then
			// be handled again.
			if counted++; counted >= c.cfg.MaxAttempts {
				log.Error("inbox claim of a dead-lettered event failed; moving on without it", "attempt", n, "error", err)
				return true
			}
		}
		log.Error("inbox claim of a dead-lettered event failed; retrying", "attempt", n, "error", err)
		if !sleep(stop, backoff(n, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter)) {
			log.Info("stopped before the dead-lettered event was claimed; it will be redelivered")
			return false
		}
	}
}

// tooLarge reports whether the broker (or the client, before sending)
// refused a record for its size.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// routingHeaders are the headers that identify an event: id, eventType
// and traceparent.
func routingHeaders(hs []kgo.RecordHeader) []kgo.RecordHeader {
	return slices.DeleteFunc(slices.Clone(hs), func(h kgo.RecordHeader) bool {
		return h.Key != HeaderID && h.Key != HeaderEventType && h.Key != HeaderTraceParent
	})
}

func (c *Consumer) claimDeadLettered(stop context.Context, ev Event) error {
	ctx, cancel := c.attemptContext(stop)
	defer cancel()
	tx, err := c.cfg.Pool.Begin(ctx)
	if err != nil {
		return &unavailableError{fmt.Errorf("consumer: begin: %w", err)}
	}
	defer rollback(ctx, tx)
	if _, err := inbox.Claim(ctx, tx, c.cfg.InboxTable, c.cfg.Group, ev.ID, inbox.Meta{
		Topic: ev.Topic, Partition: ev.Partition, Offset: ev.Offset, EventType: ev.Type, Outcome: inbox.DeadLettered,
	}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
