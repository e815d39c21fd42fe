package relay

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRoutesProfiles serves the routes over real HTTP: the Go profiles only
// when enabled, the REST API for everything else either way.
func TestRoutesProfiles(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	tests := []struct {
		name      string
		pprof     bool
		wantIndex int
	}{
		{"enabled", true, http.StatusOK},
		{"disabled by default", false, http.StatusTeapot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(routes(tt.pprof, prometheus.NewRegistry(), api, nil))
			defer srv.Close()
			for path, want := range map[string]int{"/debug/pprof/": tt.wantIndex, "/connectors": http.StatusTeapot, "/metrics": http.StatusOK} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("GET %s = %d, want %d", path, resp.StatusCode, want)
				}
				if path == "/debug/pprof/" && tt.pprof && !strings.Contains(string(body), "goroutine") {
					t.Fatalf("GET %s: no profile index:\n%s", path, body)
				}
			}
		})
	}
}

// A client that sends half a header loses its connection after the header
// timeout instead of holding it.
func TestHalfAHeaderIsCutOff(t *testing.T) {
	if got := (HTTPTimeouts{Write: time.Hour}).withDefaults(); got != (HTTPTimeouts{ReadHeader: DefaultHTTPTimeouts.ReadHeader,
		Read: DefaultHTTPTimeouts.Read, Write: time.Hour, Idle: DefaultHTTPTimeouts.Idle}) {
		t.Fatalf("withDefaults = %+v", got)
	}
	srv := HTTPTimeouts{ReadHeader: 300 * time.Millisecond}.server(http.NotFoundHandler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /connectors HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection with half a header open for 20s")
	}
}

// With credentials, the REST API and the profiles need a known user and
// its password; /metrics stays open for scrapers.
func TestRoutesWithCredentials(t *testing.T) {
	creds, err := ReadCredentials(strings.NewReader("# users of the REST API\nadmin: s3cret\n\nops = other pass\n"))
	if err != nil || len(creds) != 2 || creds["admin"] != "s3cret" || creds["ops"] != "other pass" {
		t.Fatalf("ReadCredentials = %v, %v", creds, err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(routes(true, prometheus.NewRegistry(), api, creds))
	defer srv.Close()
	tests := []struct {
		name, path, user, password string
		want                       int
	}{
		{"no credentials", "/connectors", "", "", http.StatusUnauthorized},
		{"wrong password", "/connectors", "admin", "guess", http.StatusUnauthorized},
		{"unknown user", "/connectors", "mallory", "s3cret", http.StatusUnauthorized},
		{"right password", "/connectors", "admin", "s3cret", http.StatusTeapot},
		{"another user", "/", "ops", "other pass", http.StatusTeapot},
		{"profiles need them too", "/debug/pprof/", "", "", http.StatusUnauthorized},
		{"profiles with them", "/debug/pprof/", "admin", "s3cret", http.StatusOK},
		{"metrics stay open", "/metrics", "", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tt.path, nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.password)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && (resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(body), `"error_code":401`)) {
				t.Fatalf("401 without a challenge or Connect's error body: %v %s", resp.Header, body)
			}
		})
	}
	for _, bad := range []string{"", "# nobody\n", "admin\n", "admin:\n", ": pass\n"} {
		if _, err := ReadCredentials(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadCredentials(%q) accepted", bad)
		}
	}
}
