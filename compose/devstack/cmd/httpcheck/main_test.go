package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		url     string
		healthy bool
	}{
		{srv.URL + "/readyz", true},
		{srv.URL + "/down", false},
		{"http://127.0.0.1:1/readyz", false},
	} {
		err := check(tc.url, 2*time.Second)
		if (err == nil) != tc.healthy {
			t.Errorf("check(%s) = %v, want healthy=%v", tc.url, err, tc.healthy)
		}
	}
}
