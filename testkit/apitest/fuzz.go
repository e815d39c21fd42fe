package apitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// Methods and content types a fuzz target picks by index (FuzzRequest).
const (
	FuzzGET uint8 = iota
	FuzzPOST
	FuzzPUT
	FuzzDELETE
	FuzzPATCH
	FuzzHEAD
	FuzzOPTIONS
)

var (
	FuzzMethods = []string{
		http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodPatch, http.MethodHead, http.MethodOptions,
	}
	FuzzContentTypes = []string{
		"application/json", "", "application/json; charset=utf-8", "text/plain",
		"application/x-www-form-urlencoded",
	}
)

// FuzzRequest returns the request an HTTP/1.1 server parses from these
// parts, or nil when the server would refuse it itself (a request line or
// header it cannot parse, OPTIONS *) or no client could send it.
func FuzzRequest(method uint8, target string, contentType uint8, header http.Header, body []byte) *http.Request {
	// Bytes a request line or header value cannot carry (HTAB aside in
	// values): a space or a line break would change the request's framing.
	ctl := func(r rune) bool { return r < 0x20 || r == 0x7f }
	if target == "" || strings.ContainsFunc(target, func(r rune) bool { return r == ' ' || ctl(r) }) {
		return nil
	}
	if ct := FuzzContentTypes[int(contentType)%len(FuzzContentTypes)]; ct != "" {
		header.Set("Content-Type", ct)
	}
	var head bytes.Buffer
	m := FuzzMethods[int(method)%len(FuzzMethods)]
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: api.test\r\nContent-Length: %d\r\n", m, target, len(body))
	for name, values := range header {
		for _, v := range values {
			if strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && ctl(r) }) {
				return nil
			}
			fmt.Fprintf(&head, "%s: %s\r\n", name, v)
		}
	}
	head.WriteString("\r\n")
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(&head, bytes.NewReader(body))))
	if err != nil || (m == http.MethodOptions && target == "*") {
		return nil
	}
	req.RemoteAddr = "192.0.2.1:40000"
	return req
}

// CheckContract fails t unless an answer keeps the services' API contract:
// never a 5xx; a 2xx is JSON (a 204 has no body); a 4xx is the JSON error
// shape with a code and a message (see ErrorOf). A HEAD answer is checked
// for its status only.
func CheckContract(t testing.TB, method string, rec *httptest.ResponseRecorder) {
	t.Helper()
	status, body, ct := rec.Code, rec.Body.Bytes(), rec.Header().Get("Content-Type")
	switch {
	case status >= 500:
		t.Fatalf("status %d: %s", status, body)
	case method == http.MethodHead:
		// A HEAD answer has no body to check (error answers send none).
	case status == http.StatusNoContent:
		if len(body) != 0 {
			t.Fatalf("status 204 with a body: %q", body)
		}
	case status >= 200 && status < 300:
		if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) || !json.Valid(body) {
			t.Fatalf("status %d, Content-Type %q, body not JSON: %q", status, ct, body)
		}
	case status >= 400:
		var answer map[string]any
		if err := json.Unmarshal(body, &answer); err != nil || !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
			t.Fatalf("status %d, Content-Type %q, body not a JSON object (%v): %q", status, ct, err, body)
		}
		ErrorOf(t, answer) // a non-empty code and message
	default:
		t.Fatalf("unexpected status %d: %s", status, body)
	}
}

// Log collects a server's log for failure messages; Reset empties it
// between fuzz inputs.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// FuzzServe is one fuzz input against h: it builds the request
// (FuzzRequest; an input the HTTP server would answer itself is skipped),
// serves it, and checks the answer (CheckContract). logs is emptied first
// and, when the input fails, printed with the request.
func FuzzServe(t *testing.T, h http.Handler, logs *Log, method uint8, target string, contentType uint8, header http.Header, body []byte) {
	t.Helper()
	req := FuzzRequest(method, target, contentType, header, body)
	if req == nil {
		return
	}
	logs.Reset()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("request: %s %s, headers %q, body %q\nserver log:\n%s", req.Method, target, req.Header, body, logs)
		}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(t.Context()))
	CheckContract(t, req.Method, rec)
}
