package relay

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ReadCredentials reads a credentials file in the format of Kafka Connect's
// BasicAuthSecurityRestExtension property file: one "user: password" (or
// "user=password") per line; blank lines and lines starting with # or !
// are skipped. Spaces around the user and the password are trimmed.
func ReadCredentials(r io.Reader) (map[string]string, error) {
	creds := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, ":=")
		if i <= 0 {
			return nil, fmt.Errorf("credentials line %d: want user: password", n)
		}
		user, password := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		if user == "" || password == "" {
			return nil, fmt.Errorf("credentials line %d: empty user or password", n)
		}
		creds[user] = password
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("credentials: no user")
	}
	return creds, nil
}

// basicAuth lets a request through only with the password of one of the
// users in creds (HTTP basic authentication); others get 401 in Kafka
// Connect's error shape.
func basicAuth(creds map[string]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		want, known := creds[user]
		match := subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
		if !ok || !known || !match {
			rw.Header().Set("WWW-Authenticate", `Basic realm="walrelay"`)
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(rw, `{"error_code":401,"message":"the REST API needs a user and password (HTTP basic authentication)"}`+"\n")
			return
		}
		next.ServeHTTP(rw, r)
	})
}
