package tracing

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEndpointFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "nothing set exports nothing", env: nil, want: ""},
		{name: "base endpoint gets the traces path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, want: "http://127.0.0.1:4318/v1/traces"},
		{name: "base endpoint with a path", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4318/otlp/"}, want: "https://collector:4318/otlp/v1/traces"},
		{name: "traces endpoint is used as is and wins", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, want: "http://b:4318/custom"},
		{name: "disabled SDK", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, want: ""},
		{name: "exporter none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, want: ""},
		{name: "exporter otlp", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, want: "http://a:4318/v1/traces"},
		{name: "http/protobuf protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, want: "http://a:4318/v1/traces"},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
		{name: "grpc is refused", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317"}, wantErr: "only http/protobuf"},
		{name: "the traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, want: "http://a:4318/v1/traces"},
		{name: "host without scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://%zz"}, wantErr: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := endpointFromEnv(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("endpointFromEnv = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSetupWithoutEndpointIsNoop(t *testing.T) {
	p, err := Setup(t.Context(), "order-service", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("t").Start(t.Context(), "x")
	if span.IsRecording() || p.Endpoint != "" {
		t.Fatalf("no endpoint: span recording %v, endpoint %q; want a no-op provider", span.IsRecording(), p.Endpoint)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestSetupRefusesBadEnvironment(t *testing.T) {
	if _, err := Setup(t.Context(), "x", env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "4318"})); err == nil {
		t.Fatal("Setup accepted an endpoint that is not a URL")
	}
}

// TestSpansReachAnOTLPReceiver sends a span over OTLP/HTTP to a receiver
// that decodes the request with OpenTelemetry's own protobuf types.
func TestSpansReachAnOTLPReceiver(t *testing.T) {
	got := make(chan *collectortrace.ExportTraceServiceRequest, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		got <- &req
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer srv.Close()

	p, err := Setup(t.Context(), "order-service", env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_SERVICE_NAME": "renamed-service",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := p.Tracer("t").Start(t.Context(), "place order")
	SetOrderID(ctx, "0b9e6a3c-0000-4000-8000-000000000001")
	span.End()
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	select {
	case req := <-got:
		rs := req.GetResourceSpans()
		if len(rs) != 1 {
			t.Fatalf("%d resource spans, want 1", len(rs))
		}
		var service string
		for _, kv := range rs[0].GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		if service != "renamed-service" {
			t.Errorf("service.name = %q, want OTEL_SERVICE_NAME's renamed-service", service)
		}
		spans := rs[0].GetScopeSpans()[0].GetSpans()
		if len(spans) != 1 || spans[0].GetName() != "place order" {
			t.Fatalf("spans = %v, want the one named place order", spans)
		}
		var order string
		for _, kv := range spans[0].GetAttributes() {
			if kv.GetKey() == string(OrderID) {
				order = kv.GetValue().GetStringValue()
			}
		}
		if order != "0b9e6a3c-0000-4000-8000-000000000001" {
			t.Errorf("order.id = %q", order)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no export reached the receiver after Shutdown")
	}
}

func TestErrorHandlerLogsAtMostOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	h := ErrorHandler(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	for range 5 {
		h.Handle(errors.New("connection refused"))
	}
	if n := strings.Count(buf.String(), "connection refused"); n != 1 {
		t.Fatalf("%d lines logged for 5 errors within the interval, want 1:\n%s", n, buf.String())
	}
	h = ErrorHandler(slog.New(slog.NewTextHandler(&buf, nil)), 0)
	buf.Reset()
	for range 3 {
		h.Handle(errors.New("refused"))
	}
	if n := strings.Count(buf.String(), "refused"); n != 3 {
		t.Fatalf("%d lines logged with no interval, want 3", n)
	}
}
