package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// FuzzRequests sends arbitrary bodies and path parameters through the
// shared middleware, the strict JSON decoder and the error handler: no
// input may get a 5xx or a panic (the recovery middleware would turn one
// into a 500), and every answer but a success is the JSON error shape.
// go test runs the seeds; go test -fuzz FuzzRequests explores.
func FuzzRequests(f *testing.F) {
	for _, seed := range []struct{ body, id string }{
		{`{"name":"a","count":2}`, "plain"},
		{`{"name":`, "a%2Fb"},
		{`[1]`, "%00"},
		{`{"count":"two"}`, "caf%C3%A9"},
		{`{"name":"a","count":1} {}`, "%E2%82"},
		{`{"cnt":2}`, "%"},
		{`{"name":"\u0000","count":1e309}`, "x%2F%2E%2E"},
		{"\xff\xfe", strings.Repeat("a", 300)},
	} {
		f.Add(seed.body, seed.id)
	}
	e := httpserver.New(httpserver.Config{BodyLimit: "4K"})
	e.POST("/widgets/:id", func(c echo.Context) error {
		var w widget
		if err := httpserver.DecodeJSON(c, &w); err != nil {
			return err
		}
		if w.Count < 1 {
			return validation.Field("count", "must be at least 1")
		}
		return c.JSON(http.StatusCreated, map[string]any{"id": c.Param("id"), "widget": w})
	})
	f.Fuzz(func(t *testing.T, body, id string) {
		path := "/widgets/" + id
		if _, err := url.ParseRequestURI(path); err != nil {
			path = "/widgets/" + url.PathEscape(id)
		}
		req := httptest.NewRequest(http.MethodPost, "http://example.test/", strings.NewReader(body))
		req.URL.Path, req.URL.RawPath = "", ""
		u, err := url.Parse(path)
		if err != nil {
			return // not a request a client can send
		}
		req.URL = u
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s with %q = %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error":{"code":`) {
			t.Fatalf("POST %s with %q = %d without the error shape: %s", path, body, rec.Code, rec.Body)
		}
	})
}
