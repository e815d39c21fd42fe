package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
)

// Call sends body (JSON text; "" sends none) to url and returns the status
// and the answer decoded as a JSON object.
func Call(t testing.TB, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("apitest: %s %s: read body: %v", method, url, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || out == nil {
		t.Fatalf("apitest: %s %s: answer %q is not a JSON object: %v", method, url, raw, err)
	}
	return resp.StatusCode, out
}

// ErrorOf returns the code and the fields of the details of an error
// answer, {"error": {"code", "message", "details": [{"field", ...}]}}.
func ErrorOf(t testing.TB, body map[string]any) (code string, fields []string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("apitest: answer %v has no error object", body)
	}
	code, _ = e["code"].(string)
	if code == "" {
		t.Fatalf("apitest: error %v has no code", e)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("apitest: error %v has no message", e)
	}
	details, _ := e["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok {
			f, _ := m["field"].(string)
			fields = append(fields, f)
		}
	}
	return code, fields
}

// Server serves an httpserver echo instance, configured by cfg and routed
// by register, on a loopback port until the test ends, and returns its
// base URL.
func Server(t testing.TB, cfg httpserver.Config, register func(e *echo.Echo)) string {
	t.Helper()
	e := httpserver.New(cfg)
	register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}
