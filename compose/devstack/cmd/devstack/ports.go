package main

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
)

// namedPort is a listener of the stack and the variable that moves it.
type namedPort struct {
	env  string
	port int
}

// checkPorts fails, with one line per taken port naming what holds it when
// that can be found, if any of the ports is already in use.
func checkPorts(ports []namedPort) error {
	var errs []error
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err != nil {
			holder := portHolder(p.port)
			if holder != "" {
				holder = " by " + holder
			}
			errs = append(errs, fmt.Errorf("port %d is already in use%s; stop it or choose another port with %s=...", p.port, holder, p.env))
			continue
		}
		l.Close()
	}
	return errors.Join(errs...)
}

var ssUser = regexp.MustCompile(`users:\(\("([^"]+)",pid=(\d+)`)

// portHolder names the process listening on port ("postgres (pid 123)"),
// or returns "" when ss cannot tell.
func portHolder(port int) string {
	out, err := exec.Command("ss", "-Hltnp", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		return ""
	}
	m := ssUser.FindSubmatch(out)
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s (pid %s)", m[1], m[2])
}
