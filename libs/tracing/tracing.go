package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// OrderID is the attribute key of the order a span concerns.
const OrderID = attribute.Key("order.id")

// SetOrderID records the order the work in ctx concerns on the span in ctx
// and on the span the work entered the process by (ContextWithEntrySpan),
// so the request's or the record's span is found by order too.
func SetOrderID(ctx context.Context, id string) {
	a := OrderID.String(id)
	trace.SpanFromContext(ctx).SetAttributes(a)
	if s, ok := ctx.Value(entryKey{}).(trace.Span); ok {
		s.SetAttributes(a)
	}
}

type entryKey struct{}

// ContextWithEntrySpan returns ctx holding span as the span the work
// entered the process by (an HTTP server span, a consumed record's span):
// SetOrderID anywhere below it labels it as well.
func ContextWithEntrySpan(ctx context.Context, span trace.Span) context.Context {
	return context.WithValue(ctx, entryKey{}, span)
}

// Provider is a process's tracer provider and what it exports to.
type Provider struct {
	trace.TracerProvider
	// Endpoint is the URL spans are sent to; "" when nothing is exported.
	Endpoint string
	shutdown func(context.Context) error
}

// Shutdown flushes the spans still batched and stops exporting; ctx bounds
// the wait.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	if err := p.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Noop is the provider that records nothing.
func Noop() *Provider { return &Provider{TracerProvider: noop.NewTracerProvider()} }

// Setup returns the provider the environment asks for (see the package
// documentation), named service unless OTEL_SERVICE_NAME says otherwise.
// Nothing is started when it returns an error.
func Setup(ctx context.Context, service string, getenv func(string) string) (*Provider, error) {
	endpoint, err := endpointFromEnv(getenv)
	if err != nil || endpoint == "" {
		if err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
		return Noop(), nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", endpoint, err)
	}
	if name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); name != "" {
		service = name
	}
	// The defaults (SDK, OTEL_RESOURCE_ATTRIBUTES) first, the service's
	// name over them.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, Endpoint: endpoint, shutdown: tp.Shutdown}, nil
}

// endpointFromEnv returns the URL spans go to, "" for none.
func endpointFromEnv(getenv func(string) string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return "", nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "", "otlp":
	case "none":
		return "", nil
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER=%q: want otlp or none", exp)
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(v)); p != "" {
			if p != "http/protobuf" {
				return "", fmt.Errorf("%s=%q: only http/protobuf is supported (OTLP over HTTP, usually port 4318)", v, p)
			}
			break
		}
	}
	name, raw := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	if raw == "" {
		name, raw = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
		if raw == "" {
			return "", nil
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want an http:// or https:// URL", name, raw)
	}
	if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
		// The signal's path is appended to the base URL.
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// ErrorHandler returns an OpenTelemetry error handler (otel.SetErrorHandler)
// that logs to log at warning level: the first error, then at most one per
// every, with the number left unlogged in between.
func ErrorHandler(log *slog.Logger, every time.Duration) otel.ErrorHandler {
	var (
		mu         sync.Mutex
		last       time.Time
		suppressed int
	)
	return otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < every {
			suppressed++
			mu.Unlock()
			return
		}
		n := suppressed
		last, suppressed = now, 0
		mu.Unlock()
		log.Warn("tracing", "err", err, "suppressed_since_last", n)
	})
}
