package stackstate

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
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
