package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// stackState is the part of devstack's state.json chaos reads.
type stackState struct {
	Pid        int         `json:"pid"`
	Stack      string      `json:"stack"`
	Ready      bool        `json:"ready"`
	Components []component `json:"components"`
}

type component struct {
	Name     string `json:"name"`
	Pid      int    `json:"pid"`
	Addr     string `json:"addr"`
	Health   string `json:"health"`
	Restarts int    `json:"restarts"`
}

// stack is the running stack chaos works on.
type stack struct {
	dir string
}

// findStack returns the stack in dir, or the one running stack under the
// repository's .dev/ and .stack/ directories.
func findStack(dir string) (*stack, error) {
	if dir != "" {
		s := &stack{dir: dir}
		st, err := s.state()
		if err != nil {
			return nil, err
		}
		if !st.Ready || !alive(st.Pid) {
			return nil, fmt.Errorf("the stack in %s is not up and ready (make dev or make up starts one)", dir)
		}
		return s, nil
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	candidates, _ := filepath.Glob(filepath.Join(root, ".dev", "*"))
	candidates = append(candidates, filepath.Join(root, ".stack"))
	var found []string
	for _, d := range candidates {
		s := &stack{dir: d}
		if st, err := s.state(); err == nil && st.Ready && alive(st.Pid) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no ready stack found under .dev/ or .stack/: start one with make dev (or make up), or name its state directory with -dir")
	case 1:
		return &stack{dir: found[0]}, nil
	default:
		return nil, fmt.Errorf("several stacks are running (%s): pick one with -dir", strings.Join(found, ", "))
	}
}

func (s *stack) state() (*stackState, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the stack's state: %w", err)
	}
	var st stackState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(s.dir, "state.json"), err)
	}
	return &st, nil
}

// component returns a component of the stack by name.
func (s *stack) component(name string) (component, error) {
	st, err := s.state()
	if err != nil {
		return component{}, err
	}
	for _, c := range st.Components {
		if c.Name == name {
			return c, nil
		}
	}
	return component{}, fmt.Errorf("the stack in %s has no component %q", s.dir, name)
}

// relayName is the component that answers the Kafka Connect REST API.
func (s *stack) relayName() (string, error) {
	if _, err := s.component("connect"); err == nil {
		return "connect", nil
	}
	if _, err := s.component("walrelay"); err == nil {
		return "walrelay", nil
	}
	return "", errors.New("the stack has neither connect nor walrelay")
}

// repoRoot finds the directory holding go.work, from the working directory up.
func repoRoot() (string, error) {
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
			return "", errors.New("run chaos from inside the repository, or name the stack's state directory with -dir")
		}
		dir = parent
	}
}

// alive reports whether a process with this pid exists and is not a zombie.
func alive(pid int) bool {
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
