package connect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fail answers as Kafka Connect does, and a 500 keeps its cause in the log:
// the body names the log line, never the error text.
func TestFailKeepsInternalErrorsInTheLog(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   string // what the message must contain
	}{
		{"bad request", &BadRequestError{Message: "missing name"}, http.StatusBadRequest, "missing name"},
		{"not found", fmt.Errorf("connector x: %w", ErrNotFound), http.StatusNotFound, "connector x"},
		{"exists", fmt.Errorf("connector x: %w", ErrExists), http.StatusConflict, "connector x"},
		{"internal", errors.New(`dial postgres://cdc:s3cret@db:5432: refused`), http.StatusInternalServerError, "error_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			w := &Worker{log: slog.New(slog.NewJSONHandler(&logs, nil))}
			rec := httptest.NewRecorder()
			w.fail(rec, tt.err)
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.status || body.ErrorCode != tt.status || !strings.Contains(body.Message, tt.body) {
				t.Fatalf("answer %d %+v, want %d with %q", rec.Code, body, tt.status, tt.body)
			}
			if tt.status != http.StatusInternalServerError {
				return
			}
			if strings.Contains(body.Message, "s3cret") || strings.Contains(body.Message, "postgres") {
				t.Fatalf("500 body leaks the cause: %q", body.Message)
			}
			id := body.Message[strings.LastIndex(body.Message, " ")+1:]
			if len(id) != 16 || !strings.Contains(logs.String(), `"error_id":"`+id+`"`) || !strings.Contains(logs.String(), "s3cret") {
				t.Fatalf("the log does not hold the cause under error id %q:\n%s", id, logs.String())
			}
		})
	}
}
