package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/tracecontext"
	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

type widget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// serve starts a server on a free port and returns its base URL; it stops
// when the test ends and fails the test if Serve returns an error.
func serve(t *testing.T, cfg httpserver.Config) string {
	t.Helper()
	e := httpserver.New(cfg)
	e.POST("/widgets", func(c echo.Context) error {
		var w widget
		if err := httpserver.DecodeJSON(c, &w); err != nil {
			return err
		}
		if w.Count < 1 {
			// Wrapped as a domain or repository would return it.
			return fmt.Errorf("create widget: %w", validation.Field("count", "must be at least 1"))
		}
		return c.JSON(http.StatusCreated, w)
	})
	e.GET("/boom", func(echo.Context) error { return errors.New("secret database detail") })
	e.GET("/panic", func(echo.Context) error { panic("oops") })
	e.GET("/later", func(echo.Context) error { return fmt.Errorf("place order: secret detail: %w", notYet{}) })
	e.GET(refusalPath, func(echo.Context) error { return fmt.Errorf("place order: %w", errBusy) })
	e.GET("/things/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, c.Param("id")) })
	e.GET("/trace", func(c echo.Context) error {
		return c.String(http.StatusOK, tracecontext.TraceParent(c.Request().Context()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpserver.Serve(ctx, e, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestErrorsAreJSON(t *testing.T) {
	base := serve(t, httpserver.Config{BodyLimit: "1K"})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
		field                    string // the one detail's field, "" for no details
	}{
		{"created", "POST", "/widgets", `{"name":"a","count":2}`, 201, "", ""},
		{"malformed", "POST", "/widgets", `{"name":`, 400, "malformed_json", ""},
		{"empty body", "POST", "/widgets", ``, 400, "malformed_json", ""},
		{"wrong type", "POST", "/widgets", `{"name":"a","count":"two"}`, 400, "wrong_type", "count"},
		{"unknown field", "POST", "/widgets", `{"name":"a","cnt":2}`, 400, "unknown_field", ""},
		{"two values", "POST", "/widgets", `{"count":1} {"count":2}`, 400, "malformed_json", ""},
		{"invalid", "POST", "/widgets", `{"name":"a","count":0}`, 422, "validation_failed", "count"},
		{"oversize", "POST", "/widgets", `{"name":"` + strings.Repeat("x", 2048) + `","count":1}`, 413, "payload_too_large", ""},
		{"no route", "GET", "/nope", ``, 404, "not_found", ""},
		{"wrong method", "DELETE", "/widgets", ``, 405, "method_not_allowed", ""},
		{"internal hides detail", "GET", "/boom", ``, 500, "internal", ""},
		{"panic", "GET", "/panic", ``, 500, "internal", ""},
		{"an error naming its status", "GET", "/later", ``, 503, "not_yet", ""},
		{"a refusal", "GET", refusalPath, ``, 503, "overloaded", ""},
		{"a refusal again", "GET", refusalPath, ``, 503, "overloaded", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.status, raw)
			}
			if tc.code == "" {
				return
			}
			var body struct {
				Error struct {
					Code, Message string
					Details       []struct{ Field, Message string }
					ErrorID       string `json:"errorId"`
				} `json:"error"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("error body is not JSON: %s", raw)
			}
			if wantID := tc.status >= 500 && tc.path != refusalPath; wantID != (len(body.Error.ErrorID) == 16) {
				t.Fatalf("errorId = %q; a 5xx that is no refusal, and only that, names its log line", body.Error.ErrorID)
			}
			if body.Error.Code != tc.code || body.Error.Message == "" {
				t.Fatalf("error = %+v, want code %q with a message", body.Error, tc.code)
			}
			if d := body.Error.Details; tc.field != "" && (len(d) != 1 || d[0].Field != tc.field || d[0].Message == "") ||
				tc.field == "" && len(d) != 0 {
				t.Fatalf("details = %+v, want one for field %q", d, tc.field)
			}
			if strings.Contains(string(raw), "secret") {
				t.Fatalf("500 body leaks the cause: %s", raw)
			}
		})
	}
}

func TestReadiness(t *testing.T) {
	var down atomic.Bool
	base := serve(t, httpserver.Config{Ready: []httpserver.Check{{Name: "db", Check: func(context.Context) error {
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}}})
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/readyz"); got != 200 {
		t.Fatalf("readyz = %d, want 200", got)
	}
	down.Store(true)
	if got := get("/readyz"); got != 503 {
		t.Fatalf("readyz with a failing check = %d, want 503", got)
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Status  string            `json:"status"`
		Checks  map[string]string `json:"checks"`
		ErrorID string            `json:"errorId"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || body.Status != "not ready" || body.Checks["db"] != "failing" || len(body.ErrorID) != 16 {
		t.Fatalf("readyz body = %+v, %v; want the failing check named, its cause kept out, an error id", body, err)
	}
	if got := get("/healthz"); got != 200 {
		t.Fatalf("healthz = %d, want 200 (liveness ignores dependencies)", got)
	}
}

func TestTraceParentReachesHandlers(t *testing.T) {
	base := serve(t, httpserver.Config{})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct{ sent, want string }{{tp, tp}, {"", ""}, {"garbage", ""}} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/trace", nil)
		if tc.sent != "" {
			req.Header.Set("traceparent", tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tc.want {
			t.Errorf("traceparent %q: handler saw %q, want %q", tc.sent, got, tc.want)
		}
	}
}

func TestIsCanonicalUUID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"01a209be-2a0f-79ee-a750-77105037f68b", true},
		{"01A209BE-2A0F-79EE-A750-77105037F68B", true},
		{"01a209be2a0f79eea75077105037f68b", false},
		{"{01a209be-2a0f-79ee-a750-77105037f68b}", false},
		{"urn:uuid:01a209be-2a0f-79ee-a750-77105037f68b", false},
		{"not-a-uuid", false},
		{"", false},
	} {
		if got := httpserver.IsCanonicalUUID(tc.in); got != tc.want {
			t.Errorf("IsCanonicalUUID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParametersAreDecodedOnceAndClean(t *testing.T) {
	base := serve(t, httpserver.Config{})
	tests := []struct {
		path   string
		status int
		want   string // the parameter the handler saw, or the error code
	}{
		{"/things/plain", 200, "plain"},
		{"/things/a%2Fb", 200, "a/b"},
		{"/things/a%2Fb%25", 200, "a/b%"},
		{"/things/100%25", 200, "100%"},
		{"/things/caf%C3%A9", 200, "café"},
		{"/things/a%20b", 200, "a b"},
		{"/things/a%00b", 400, "bad_path_parameter"},
		{"/things/%0A", 400, "bad_path_parameter"},
		{"/things/a%2F%7F", 400, "bad_path_parameter"},
		{"/things/%FF%FE", 400, "bad_path_parameter"},
		{"/things/a%2F%80", 400, "bad_path_parameter"},
		{"/things/ok?q=caf%C3%A9", 200, "ok"},
		{"/things/ok?q=%A8", 400, "bad_query_parameter"},
		{"/things/ok?q=a%00", 400, "bad_query_parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, raw, tt.status)
			}
			var got string
			if tt.status == 200 {
				err = json.Unmarshal(raw, &got)
			} else {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				err = json.Unmarshal(raw, &e)
				got = e.Error.Code
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q (%s), want %q", got, raw, tt.want)
			}
		})
	}
}

func TestTimeoutsDefaults(t *testing.T) {
	got := httpserver.Timeouts{Write: time.Minute}.WithDefaults()
	want := httpserver.Timeouts{
		ReadHeader: httpserver.DefaultReadHeaderTimeout, Read: httpserver.DefaultReadTimeout,
		Write: time.Minute, Idle: httpserver.DefaultIdleTimeout,
	}
	if got != want {
		t.Fatalf("WithDefaults = %+v, want %+v", got, want)
	}
	var srv http.Server
	httpserver.Timeouts{}.Apply(&srv)
	if srv.ReadHeaderTimeout != httpserver.DefaultReadHeaderTimeout || srv.ReadTimeout != httpserver.DefaultReadTimeout ||
		srv.WriteTimeout != httpserver.DefaultWriteTimeout || srv.IdleTimeout != httpserver.DefaultIdleTimeout {
		t.Fatalf("Apply left %v %v %v %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}

// A client that sends half a header loses its connection after the header
// timeout, instead of holding it for as long as it likes.
func TestHalfAHeaderIsCutOff(t *testing.T) {
	base := serve(t, httpserver.Config{Timeouts: httpserver.Timeouts{ReadHeader: 300 * time.Millisecond}})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// Far longer than the header timeout: the server must close first.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection with half a header open for 20s")
	}
}

// refusalPath answers errBusy, a refusal shared by every request, as
// package variables are.
const refusalPath = "/busy"

var errBusy = httpserver.NewRefusal(http.StatusServiceUnavailable, "overloaded", "too busy; retry later")

// notYet is an error that names its own HTTP status and code.
type notYet struct{}

func (notYet) Error() string     { return "not yet; try again later" }
func (notYet) HTTPStatus() int   { return http.StatusServiceUnavailable }
func (notYet) ErrorCode() string { return "not_yet" }

// records is a slog handler that keeps every record, at every level, for
// a test to wait on.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// requestLevel waits for the "http request" line of uri and returns its
// level.
func (r *records) requestLevel(t *testing.T, uri string) slog.Level {
	t.Helper()
	var level slog.Level
	servicetest.WaitFor(t, 5*time.Second, "the request log line of "+uri, func() bool {
		var ok bool
		level, ok = r.find(uri)
		return ok
	})
	return level
}

// find returns the level of the "http request" line of uri, if logged.
func (r *records) find(uri string) (slog.Level, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if rec.Message != "http request" {
			continue
		}
		var got string
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "uri" {
				got = a.Value.String()
			}
			return true
		})
		if got == uri {
			return rec.Level, true
		}
	}
	return 0, false
}

func TestRequestLogLevels(t *testing.T) {
	var down atomic.Bool
	rec := &records{}
	base := serve(t, httpserver.Config{Logger: slog.New(rec), Ready: []httpserver.Check{{Name: "db", Check: func(context.Context) error {
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}}})
	down.Store(true)
	for _, tc := range []struct {
		name, method, uri, body string
		status                  int
		level                   slog.Level
	}{
		{"answered", "POST", "/widgets?n=1", `{"name":"a","count":2}`, 201, slog.LevelDebug},
		{"refused", "POST", "/widgets?n=2", `{"name":`, 400, slog.LevelInfo},
		{"invalid", "POST", "/widgets?n=3", `{"name":"a","count":0}`, 422, slog.LevelInfo},
		{"no route", "GET", "/nowhere", ``, 404, slog.LevelInfo},
		{"failed", "GET", "/boom", ``, 500, slog.LevelError},
		{"probe", "GET", "/healthz", ``, 200, slog.LevelDebug},
		{"failing probe", "GET", "/readyz", ``, 503, slog.LevelDebug},
		{"shedding load", "GET", refusalPath, ``, 503, slog.LevelDebug},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.uri, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := rec.requestLevel(t, tc.uri); got != tc.level {
				t.Fatalf("logged at %v, want %v", got, tc.level)
			}
		})
	}
	// A failure logs its cause once more, under its error id; a refusal
	// has no cause to log.
	if got := rec.failedPaths(); !slices.Equal(got, []string{"/boom"}) {
		t.Errorf(`"request failed" lines for %q, want only /boom's`, got)
	}
}

// failedPaths returns the paths of the "request failed" lines, in order.
func (r *records) failedPaths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Message != "request failed" {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "path" {
				out = append(out, a.Value.String())
			}
			return true
		})
	}
	return out
}
