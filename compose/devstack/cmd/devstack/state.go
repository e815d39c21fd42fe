package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/outboxcdc/outboxcdc/compose/devstack/internal/stackstate"
)

// stackState is what a running devstack says about its stack, in
// <dir>/state.json: `devstack up` follows it while the stack starts,
// `devstack ps` and `devstack down` read it.
type stackState struct {
	Pid        int         `json:"pid"` // the devstack process supervising the stack
	Stack      string      `json:"stack"`
	Started    time.Time   `json:"started"`
	Waiting    string      `json:"waiting,omitempty"`    // what start-up waits for now
	WaitingOn  string      `json:"waiting_on,omitempty"` // the component whose log explains a failure
	Ready      bool        `json:"ready"`
	Components []component `json:"components"`
	Endpoints  string      `json:"endpoints,omitempty"` // printed once the stack is ready
	// Jaeger is where the stack's Jaeger listens, once it is up; nil
	// without one (JAEGER=off).
	Jaeger *stackstate.Jaeger `json:"jaeger,omitempty"`
}

// component is one process of the stack.
type component struct {
	Name       string  `json:"name"`
	Pid        int     `json:"pid"`
	Addr       string  `json:"addr"`   // what a user connects to
	Health     string  `json:"health"` // an http:// URL answering 2xx, or a host:port accepting TCP
	ReadyAfter float64 `json:"ready_after_s"`
	Restarts   int     `json:"restarts,omitempty"` // times the supervisor started it again after it died
	Socket     string  `json:"socket,omitempty"`   // directory of a Unix-domain socket it also listens on
}

const stateFile = "state.json"

// tracker keeps <dir>/state.json current as the stack starts.
type tracker struct {
	mu    sync.Mutex
	path  string
	state stackState
}

func newTracker(dir, stack string) *tracker {
	return &tracker{
		path:  filepath.Join(dir, stateFile),
		state: stackState{Pid: os.Getpid(), Stack: stack, Started: time.Now()},
	}
}

// waiting records what start-up waits for, and on which component.
func (t *tracker) waiting(component, what string) {
	t.update(func(s *stackState) { s.Waiting, s.WaitingOn = what, component })
}

// ready records a component that came up.
func (t *tracker) ready(name string, pid int, addr, health string) {
	t.update(func(s *stackState) {
		s.Components = append(s.Components, component{
			Name: name, Pid: pid, Addr: addr, Health: health,
			ReadyAfter: time.Since(s.Started).Round(100 * time.Millisecond).Seconds(),
		})
	})
}

// socket records the Unix-domain socket directory of a component that is
// ready.
func (t *tracker) socket(name, dir string) {
	t.update(func(s *stackState) {
		for i := range s.Components {
			if s.Components[i].Name == name {
				s.Components[i].Socket = dir
			}
		}
	})
}

// jaeger records where the stack's Jaeger listens.
func (t *tracker) jaeger(j stackstate.Jaeger) {
	t.update(func(s *stackState) { s.Jaeger = &j })
}

// restarted records a component's new process after the supervisor
// started it again.
func (t *tracker) restarted(name string, pid, restarts int) {
	t.update(func(s *stackState) {
		for i := range s.Components {
			if s.Components[i].Name == name {
				s.Components[i].Pid, s.Components[i].Restarts = pid, restarts
			}
		}
	})
}

// stackReady records that every component is up.
func (t *tracker) stackReady(endpoints string) {
	t.update(func(s *stackState) { s.Ready, s.Waiting, s.WaitingOn, s.Endpoints = true, "", "", endpoints })
}

func (t *tracker) update(fn func(*stackState)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.state)
	b, _ := json.MarshalIndent(t.state, "", "  ")
	tmp := t.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err == nil {
		_ = os.Rename(tmp, t.path)
	}
}

// remove deletes the state file once the stack has stopped.
func (t *tracker) remove() { _ = os.Remove(t.path) }

// readState returns the state in dir, or nil when there is none.
func readState(dir string) (*stackState, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s stackState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}
