// Package stackstate reads what a running devstack says about its stack
// (<dir>/state.json): its components, their pids and addresses, so tools
// that drive a running stack (the fault suite, the saga benchmark) find its
// processes without searching the machine.
package stackstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// State is the part of devstack's state.json these tools read.
type State struct {
	Pid        int         `json:"pid"`
	Stack      string      `json:"stack"`
	Ready      bool        `json:"ready"`
	Components []Component `json:"components"`
	Jaeger     *Jaeger     `json:"jaeger,omitempty"` // nil when the stack runs without Jaeger (JAEGER=off)
}

// Jaeger is where a stack's Jaeger listens, on 127.0.0.1.
type Jaeger struct {
	QueryPort int `json:"query_port"` // query API (/api/services, /api/traces) and UI
	OTLPPort  int `json:"otlp_port"`  // OTLP over HTTP (/v1/traces)
}

// QueryURL is the base URL of the query API ("http://127.0.0.1:16686").
func (j Jaeger) QueryURL() string { return fmt.Sprintf("http://127.0.0.1:%d", j.QueryPort) }

// OTLPEndpoint is the base URL spans are sent to, as
// OTEL_EXPORTER_OTLP_ENDPOINT takes it ("http://127.0.0.1:4318").
func (j Jaeger) OTLPEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", j.OTLPPort) }

// Component is one process of the stack.
type Component struct {
	Name     string `json:"name"`
	Pid      int    `json:"pid"`
	Addr     string `json:"addr"`
	Health   string `json:"health"`
	Restarts int    `json:"restarts"`
	// Socket is the directory of a Unix-domain socket the component also
	// listens on, "" for none: PostgreSQL's, where the stack's services
	// connect.
	Socket string `json:"socket,omitempty"`
}

// Stack is a running stack, known by its state directory.
type Stack struct {
	Dir string
}

// Find returns the stack in dir, or the one ready stack under the
// repository's .dev/ and .stack/ directories.
func Find(dir string) (*Stack, error) {
	if dir != "" {
		s := &Stack{Dir: dir}
		st, err := s.State()
		if err != nil {
			return nil, err
		}
		if !st.Ready || !Alive(st.Pid) {
			return nil, fmt.Errorf("the stack in %s is not up and ready (make dev or make up starts one)", dir)
		}
		return s, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	candidates, _ := filepath.Glob(filepath.Join(root, ".dev", "*"))
	candidates = append(candidates, filepath.Join(root, ".stack"))
	var found []string
	for _, d := range candidates {
		s := &Stack{Dir: d}
		if st, err := s.State(); err == nil && st.Ready && Alive(st.Pid) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no ready stack found under .dev/ or .stack/: start one with make dev (or make up), or name its state directory with -dir")
	case 1:
		return &Stack{Dir: found[0]}, nil
	default:
		return nil, fmt.Errorf("several stacks are running (%s): pick one with -dir", strings.Join(found, ", "))
	}
}

// State reads the stack's state file.
func (s *Stack) State() (*State, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the stack's state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.Dir, "state.json"), err)
	}
	return &st, nil
}

// Component returns a component of the stack by name.
func (s *Stack) Component(name string) (Component, error) {
	st, err := s.State()
	if err != nil {
		return Component{}, err
	}
	for _, c := range st.Components {
		if c.Name == name {
			return c, nil
		}
	}
	return Component{}, fmt.Errorf("the stack in %s has no component %q", s.Dir, name)
}

// Jaeger returns where the stack's Jaeger listens, or an error saying the
// stack runs without one.
func (s *Stack) Jaeger() (Jaeger, error) {
	st, err := s.State()
	if err != nil {
		return Jaeger{}, err
	}
	if st.Jaeger == nil {
		return Jaeger{}, fmt.Errorf("the stack in %s runs without Jaeger (started with JAEGER=off)", s.Dir)
	}
	return *st.Jaeger, nil
}

// Relay names the component that answers the Kafka Connect REST API:
// "connect" (Kafka Connect with Debezium) or "walrelay".
func (s *Stack) Relay() (string, error) {
	if _, err := s.Component("connect"); err == nil {
		return "connect", nil
	}
	if _, err := s.Component("walrelay"); err == nil {
		return "walrelay", nil
	}
	return "", errors.New("the stack has neither connect nor walrelay")
}

// RepoRoot finds the directory holding go.work, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository, or name the stack's state directory with -dir")
		}
		dir = parent
	}
}

// Alive reports whether a process with this pid exists and is not a zombie.
func Alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// Healthy checks the component's health address (see Healthy).
func (c Component) Healthy() error { return Healthy(c.Health) }

// Healthy checks a health address: an http URL must answer 2xx, anything
// else must accept a TCP connection.
func Healthy(health string) error {
	if strings.HasPrefix(health, "http://") {
		cl := http.Client{Timeout: 2 * time.Second}
		resp, err := cl.Get(health)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %s", health, resp.Status)
		}
		return nil
	}
	conn, err := net.DialTimeout("tcp", health, 2*time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
