package app_test

import (
	"fmt"
	"net/http"
	"testing"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := start(t)
	if r := e.Do(http.MethodGet, "/healthz", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("healthz = %d %s", r.Status, r.Body)
	}
	// Ready once the consumer has joined its group.
	eventually(t, "readyz answers 200", func() (bool, string) {
		r := e.Do(http.MethodGet, "/readyz", nil, nil)
		if r.Status != http.StatusOK {
			return false, fmt.Sprintf("%d %s", r.Status, r.Body)
		}
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		r.Decode(t, &body)
		if body.Checks["database"] != "ok" || body.Checks["broker"] != "ok" {
			t.Fatalf("readyz = %s", r.Body)
		}
		return true, ""
	})
}
