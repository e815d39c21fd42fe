package sourcetask

import (
	"errors"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// errSlotBusy reports a slot another process still streams from; it is
// usually the walsender of a connection that just died and is retried.
var errSlotBusy = errors.New("replication slot is in use by another connection")

// permanentError marks an error that reconnecting cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// retriable reports whether reconnecting may get past err: lost or refused
// connections, a server shutting down or restarting or fallen silent, a
// slot still held by a dying connection.
func retriable(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"), // admin shutdown, crash shutdown, cannot connect now
			pgErr.Code == "55006",                // object in use: replication slot active
			pgErr.Code == "53300":                // too many connections
			return true
		}
		return false
	}
	if errors.Is(err, errSlotBusy) || errors.Is(err, errSilentServer) || errors.Is(err, replication.ErrStreamEnded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

var javaException = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[A-Za-z0-9_$]+)+(Exception|Error)\b`)

// trace turns an error into the task's trace text. Errors already phrased
// as Java exceptions (from the router) are kept; others are presented as
// Kafka Connect's ConnectException, which is how a Connect task reports
// them.
func trace(err error) string {
	msg := err.Error()
	if javaException.MatchString(msg) {
		return msg
	}
	return "org.apache.kafka.connect.errors.ConnectException: " + msg
}
