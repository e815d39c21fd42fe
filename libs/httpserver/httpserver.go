package httpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// Error is an expected failure with its HTTP status and a stable code.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
	// ErrorID, on a 5xx, names the log line that holds the cause.
	ErrorID string `json:"errorId,omitempty"`

	refusal bool // made by NewRefusal
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns an *Error.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// NewRefusal returns an *Error for an answer the server gives by design to
// protect itself, such as 503 overloaded while it sheds load. Such answers
// come by the thousand a second exactly when the server has the least to
// spare: they carry no error id and their request lines log at Debug, like
// answered requests; /metrics counts them by status, and whatever decides
// to refuse logs when it starts and when it stops.
func NewRefusal(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message, refusal: true}
}

// isRefusal reports whether err is, or wraps, an *Error made by NewRefusal.
func isRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.refusal
}

// Check is one readiness probe (database, broker, ...).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Timeouts bound how long one connection may take; zero fields take the
// Default* values. A client that sends half a header or reads its answer
// slowly holds a connection at most this long.
type Timeouts struct {
	ReadHeader time.Duration // request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the response
	Idle       time.Duration // between requests on a kept-alive connection
}

// Default timeouts: generous for any request the services serve, short
// enough that idle or stalled clients cannot pile up connections.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
)

// WithDefaults returns t with its zero fields set to the defaults.
func (t Timeouts) WithDefaults() Timeouts {
	or := func(d, def time.Duration) time.Duration {
		if d <= 0 {
			return def
		}
		return d
	}
	return Timeouts{
		ReadHeader: or(t.ReadHeader, DefaultReadHeaderTimeout),
		Read:       or(t.Read, DefaultReadTimeout),
		Write:      or(t.Write, DefaultWriteTimeout),
		Idle:       or(t.Idle, DefaultIdleTimeout),
	}
}

// Apply sets t, with defaults for its zero fields, on srv.
func (t Timeouts) Apply(srv *http.Server) {
	t = t.WithDefaults()
	srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = t.ReadHeader, t.Read, t.Write, t.Idle
}

// Config configures New.
type Config struct {
	// BodyLimit caps request bodies (echo notation, default "1M").
	BodyLimit string
	// Timeouts bound each connection (see Timeouts).
	Timeouts Timeouts
	// Ready are the checks behind GET /readyz.
	Ready []Check
	// Logger receives request logs and 5xx causes.
	Logger *slog.Logger
	// Tracing records a server span per request (not for the health and
	// metrics routes); nil records none. A caller's traceparent is its
	// parent either way, so the request's outbox rows carry the trace on.
	Tracing trace.TracerProvider
}

// New returns an echo instance with the shared middleware, error handler
// and GET /healthz, GET /readyz already routed.
func New(cfg Config) *echo.Echo {
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	cfg.Timeouts.Apply(e.Server)
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		log.Error("panic in handler", "method", c.Request().Method, "path", c.Path(), "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimit(cfg.BodyLimit))
	e.Use(unescapeParams)
	e.Use(serverSpans(cfg.Tracing))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := requestLogLevel(v.Status)
			if unobserved[c.Path()] || isRefusal(v.Error) {
				level = slog.LevelDebug
			}
			if !log.Enabled(c.Request().Context(), level) {
				return nil
			}
			log.Log(c.Request().Context(), level, "http request", "method", v.Method, "uri", v.URI, "status", v.Status, "latency_ms", v.Latency.Milliseconds())
			return nil
		},
	}))
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
		defer cancel()
		status, checks := http.StatusOK, map[string]string{}
		var errorID string
		for _, ch := range cfg.Ready {
			if err := ch.Check(ctx); err != nil {
				// The cause stays in the log: it may name hosts, users or
				// internals. The answer carries an id to find it.
				if errorID == "" {
					errorID = newErrorID()
				}
				log.Warn("readiness check failing", "check", ch.Name, "err", err, "error_id", errorID)
				status = http.StatusServiceUnavailable
				checks[ch.Name] = "failing"
				continue
			}
			checks[ch.Name] = "ok"
		}
		body := map[string]any{"status": "ready", "checks": checks}
		if status != http.StatusOK {
			body["status"], body["errorId"] = "not ready", errorID
		}
		return c.JSON(status, body)
	})
	return e
}

// requestLogLevel is the level of a request's log line by its status:
// answers that went as asked are Debug (GET /metrics counts them, and a
// line per order at hundreds a second costs more than the order's own
// HTTP work), refusals of the client's request (4xx) Info, failures (5xx)
// Error. The probed routes (unobserved) and refusals (NewRefusal) log at
// Debug whatever their status.
func requestLogLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// unobserved are the routes probed all the time: they get no span.
var unobserved = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// serverSpans makes a caller's W3C traceparent the request context's
// trace, so the outbox rows the request writes carry it onward through
// Kafka, and records a server span named "<method> <route>" under it. It
// runs outside the request logger, which turns a handler's error into the
// response, so the span sees the final status.
func serverSpans(tp trace.TracerProvider) echo.MiddlewareFunc {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	tracer := tp.Tracer("github.com/outboxcdc/outboxcdc/libs/httpserver")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := tracecontext.FromHeader(req.Context(), req.Header)
			route := c.Path()
			if unobserved[route] || strings.HasPrefix(route, "/debug/pprof/") {
				c.SetRequest(req.WithContext(ctx))
				return next(c)
			}
			name := req.Method
			attrs := []attribute.KeyValue{
				attribute.String("http.request.method", req.Method),
				attribute.String("url.path", req.URL.Path),
			}
			if route != "" && route != "/*" {
				name += " " + route
				attrs = append(attrs, attribute.String("http.route", route))
			}
			ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			defer span.End()
			c.SetRequest(req.WithContext(tracing.ContextWithEntrySpan(ctx, span)))
			err := next(c)
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				status = toError(err).Status
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		body := toError(err)
		if body.Status >= 500 && !body.refusal {
			body.ErrorID = newErrorID()
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err, "error_id", body.ErrorID)
		}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(body.Status)
		} else {
			werr = c.JSON(body.Status, map[string]*Error{"error": body})
		}
		if werr != nil {
			log.Warn("writing error response", "err", werr)
		}
	}
}

// newErrorID returns a short random id that ties an answer to its log line.
func newErrorID() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:16] }

// unescapeParams gives handlers path parameters decoded exactly once, and
// answers 400 for a path or query parameter that is not UTF-8 or holds a
// control character (NUL included), so no handler ever sees one (and no
// database query fails on one). The router matches on the escaped path when the
// request's escaping is not Go's default (an escaped slash, say): then the
// parameters arrive escaped, and /accounts/a%2Fb must reach :id as "a/b",
// not "a%2Fb". Otherwise it matches on the decoded path and they arrive
// decoded already.
func unescapeParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		escaped := c.Request().URL.RawPath != ""
		names, values := c.ParamNames(), c.ParamValues()
		for i := range min(len(names), len(values)) {
			v := values[i]
			if escaped {
				var err error
				if v, err = url.PathUnescape(v); err != nil {
					return NewError(http.StatusBadRequest, "bad_path_parameter", fmt.Sprintf("path parameter %s is not validly escaped", names[i]))
				}
			}
			if !utf8.ValidString(v) {
				return NewError(http.StatusBadRequest, "bad_path_parameter", fmt.Sprintf("path parameter %s is not UTF-8", names[i]))
			}
			if strings.ContainsFunc(v, unicode.IsControl) {
				return NewError(http.StatusBadRequest, "bad_path_parameter", fmt.Sprintf("path parameter %s contains a control character", names[i]))
			}
			values[i] = v
		}
		c.SetParamValues(values...)
		for name, vs := range c.QueryParams() {
			for _, v := range vs {
				if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
					return NewError(http.StatusBadRequest, "bad_query_parameter", fmt.Sprintf("query parameter %q is not UTF-8 free of control characters", strings.ToValidUTF8(name, "?")))
				}
			}
		}
		return next(c)
	}
}

// toError is the one place an error becomes an HTTP status: an *Error
// keeps its own, so does an error with HTTPStatus and ErrorCode methods,
// a *validation.Error is 422 with one detail per field, an
// echo error keeps its code, and anything else is a 500.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		// A copy: the answer gets its own error id, and an *Error is often
		// a package variable shared by every request that returns it.
		c := *e
		return &c
	}
	// An error that names its own status (outbox.ErrNoCapture, say) keeps
	// it; its message is its own text, never that of what wraps it.
	var se interface {
		error
		HTTPStatus() int
		ErrorCode() string
	}
	if errors.As(err, &se) {
		return &Error{Status: se.HTTPStatus(), Code: se.ErrorCode(), Message: se.Error()}
	}
	var ve *validation.Error
	if errors.As(err, &ve) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Message: "the request is invalid", Details: ve.Fields}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		code := map[int]string{
			http.StatusNotFound:              "not_found",
			http.StatusMethodNotAllowed:      "method_not_allowed",
			http.StatusRequestEntityTooLarge: "payload_too_large",
			http.StatusBadRequest:            "bad_request",
			http.StatusUnsupportedMediaType:  "unsupported_media_type",
		}[he.Code]
		if code == "" {
			code = strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_")
		}
		if he.Code >= 500 {
			msg = "internal error"
		}
		return &Error{Status: he.Code, Code: code, Message: msg}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

// DecodeJSON reads the request body into v strictly: it must be one JSON
// value of the right shape with no unknown fields. Failures are 400 *Error
// values that say what is wrong (and where, for type errors); a body over
// the limit is a 413.
func DecodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return NewError(http.StatusRequestEntityTooLarge, "payload_too_large", "request body too large")
		}
		return NewError(http.StatusBadRequest, "bad_request", "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return NewError(http.StatusBadRequest, "malformed_json", "request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return NewError(http.StatusBadRequest, "malformed_json", "request body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return NewError(http.StatusBadRequest, "malformed_json", fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return NewError(http.StatusBadRequest, "malformed_json", "malformed JSON: unexpected end of body")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		e := NewError(http.StatusBadRequest, "wrong_type", fmt.Sprintf("field %s must be %s, got JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value))
		e.Details = []validation.FieldError{{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())}}
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return NewError(http.StatusBadRequest, "unknown_field", "unknown field "+name)
	default:
		return NewError(http.StatusBadRequest, "malformed_json", "malformed JSON: "+err.Error())
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	default:
		return "an object"
	}
}

// Serve runs e on ln until ctx is done, then shuts it down gracefully,
// giving in-flight requests up to grace to finish.
func Serve(ctx context.Context, e *echo.Echo, ln net.Listener, grace time.Duration) error {
	e.Listener = ln
	errc := make(chan error, 1)
	go func() { errc <- e.Start("") }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("httpserver: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		return fmt.Errorf("httpserver: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpserver: %w", err)
	}
	return nil
}

// IsCanonicalUUID reports whether s is a UUID in its canonical 36-character
// form (uuid.Parse alone also accepts braces, a urn: prefix and no dashes);
// ids in paths and queries are accepted in that one spelling only.
func IsCanonicalUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
