package apitest

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/testkit/internal/failures"
)

func server(t *testing.T) string {
	t.Helper()
	return Server(t, httpserver.Config{}, func(e *echo.Echo) { routes(e) })
}

func routes(e *echo.Echo) {
	e.PUT("/echo", func(c echo.Context) error {
		var v map[string]any
		if err := httpserver.DecodeJSON(c, &v); err != nil {
			return err
		}
		v["contentType"] = c.Request().Header.Get("Content-Type")
		return c.JSON(http.StatusOK, v)
	})
	e.POST("/invalid", func(echo.Context) error {
		return &validation.Error{Fields: []validation.FieldError{{Field: "a", Message: "bad"}, {Field: "b", Message: "bad"}}}
	})
	e.GET("/text", func(c echo.Context) error { return c.String(http.StatusOK, "plain") })
	e.GET("/array", func(c echo.Context) error { return c.JSON(http.StatusOK, []int{1}) })
	e.GET("/bare-error", func(c echo.Context) error {
		return c.JSON(http.StatusTeapot, map[string]any{"error": map[string]string{"code": "x"}})
	})
	e.GET("/body", func(c echo.Context) error {
		b, _ := io.ReadAll(c.Request().Body)
		return c.JSON(http.StatusOK, map[string]any{"len": len(b), "contentType": c.Request().Header.Get("Content-Type")})
	})
}

func TestCallAndErrorOf(t *testing.T) {
	url := server(t)
	status, body := Call(t, http.MethodPut, url+"/echo", `{"n": 1}`)
	if status != http.StatusOK || body["n"] != float64(1) || body["contentType"] != "application/json" {
		t.Fatalf("PUT /echo = %d %v", status, body)
	}
	if status, body := Call(t, http.MethodGet, url+"/body", ""); status != http.StatusOK || body["len"] != float64(0) || body["contentType"] != "" {
		t.Fatalf("GET /body = %d %v, want no body and no content type", status, body)
	}
	status, body = Call(t, http.MethodPost, url+"/invalid", "")
	if code, fields := ErrorOf(t, body); status != http.StatusUnprocessableEntity || code != "validation_failed" || !slices.Equal(fields, []string{"a", "b"}) {
		t.Fatalf("POST /invalid = %d %s %q", status, code, fields)
	}
	status, body = Call(t, http.MethodGet, url+"/nowhere", "")
	if code, fields := ErrorOf(t, body); status != http.StatusNotFound || code != "not_found" || fields != nil {
		t.Fatalf("GET /nowhere = %d %s %q", status, code, fields)
	}
}

func TestFailures(t *testing.T) {
	url := server(t)
	tests := []struct {
		name   string
		helper func(testing.TB)
		says   string
	}{
		{"text answer", func(tb testing.TB) { Call(tb, http.MethodGet, url+"/text", "") }, "is not a JSON object"},
		{"array answer", func(tb testing.TB) { Call(tb, http.MethodGet, url+"/array", "") }, "is not a JSON object"},
		{"no server", func(tb testing.TB) { Call(tb, http.MethodGet, "http://127.0.0.1:1/", "") }, "apitest:"},
		{"no error object", func(tb testing.TB) { ErrorOf(tb, map[string]any{"status": "ok"}) }, "has no error object"},
		{"error without message", func(tb testing.TB) {
			_, body := Call(tb, http.MethodGet, url+"/bare-error", "")
			ErrorOf(tb, body)
		}, "has no message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failures.Of(t, tt.helper); !strings.Contains(got, tt.says) {
				t.Fatalf("reported %q, want a failure saying %q", got, tt.says)
			}
		})
	}
}
