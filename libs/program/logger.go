package program

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Log formats (LOG_FORMAT).
const (
	LogJSON = "json" // one JSON object per line: for log shippers
	LogText = "text" // key=value lines: for people reading a terminal
)

// Logger returns a logger writing to w at level in format: LogJSON,
// LogText, or "" for text when w is a terminal and JSON otherwise (a pipe,
// a file, a container's log).
func Logger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "":
		if IsTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case LogText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want %s or %s", format, LogJSON, LogText)
	}
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
