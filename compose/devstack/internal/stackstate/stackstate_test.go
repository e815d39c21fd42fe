package stackstate

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHealthy(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp := ln.Addr().String()
	ln.Close()
	closed := tcp // nothing listens there any more
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		health string
		ok     bool
	}{
		{ok.URL, true}, {failing.URL, false}, {ln.Addr().String(), true}, {closed, false},
	} {
		if err := (Component{Health: tc.health}).Healthy(); (err == nil) != tc.ok {
			t.Errorf("Healthy(%s) = %v, want healthy %v", tc.health, err, tc.ok)
		}
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	if Alive(0) || Alive(1<<30) {
		t.Fatal("a pid that cannot exist is alive")
	}
}

func TestJaeger(t *testing.T) {
	for _, tc := range []struct {
		name, state string
		want        *Jaeger
	}{
		{"with Jaeger", `{"pid":1,"stack":"embedded","ready":true,"components":[],"jaeger":{"query_port":16686,"otlp_port":4318}}`, &Jaeger{16686, 4318}},
		{"JAEGER=off", `{"pid":1,"stack":"embedded","ready":true,"components":[]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(tc.state), 0o644); err != nil {
				t.Fatal(err)
			}
			j, err := (&Stack{Dir: dir}).Jaeger()
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "without Jaeger") {
					t.Fatalf("Jaeger() = %+v, %v; want an error saying the stack runs without Jaeger", j, err)
				}
				return
			}
			if err != nil || j != *tc.want {
				t.Fatalf("Jaeger() = %+v, %v; want %+v", j, err, *tc.want)
			}
			if j.QueryURL() != "http://127.0.0.1:16686" || j.OTLPEndpoint() != "http://127.0.0.1:4318" {
				t.Errorf("QueryURL %q, OTLPEndpoint %q", j.QueryURL(), j.OTLPEndpoint())
			}
		})
	}
}
