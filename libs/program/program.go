package program

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run until it returns, then exits the process with the status
// its error calls for (see the package documentation). It never returns.
func Main(name string, run func(ctx context.Context, release context.CancelFunc) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, stop)
	stop()
	os.Exit(report(os.Stderr, name, err))
}

// report writes err's line to w and returns the exit status for it.
func report(w io.Writer, name string, err error) int {
	if err == nil {
		return 0
	}
	code := 1
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		code = c.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(w, "%s: %s\n", name, msg)
	}
	return code
}

// Exit returns an error that makes Main exit with code, printing msg
// unless it is empty.
func Exit(code int, msg string) error { return &exitError{code: code, msg: msg} }

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }
