package program

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestLogger(t *testing.T) {
	for _, tc := range []struct {
		format string
		json   bool
		bad    bool
	}{
		{"", true, false}, // a buffer is no terminal
		{LogJSON, true, false},
		{LogText, false, false},
		{"yaml", false, true},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			log, err := Logger(&b, tc.format, slog.LevelInfo)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if tc.bad {
				return
			}
			log.Debug("hidden")
			log.Info("hello", "k", "v")
			line := strings.TrimSpace(b.String())
			if strings.Contains(line, "hidden") {
				t.Errorf("debug line written at info: %q", line)
			}
			if got := json.Valid([]byte(line)); got != tc.json {
				t.Errorf("line %q: JSON %v, want %v", line, got, tc.json)
			}
			if !tc.json && !strings.Contains(line, "msg=hello k=v") {
				t.Errorf("text line %q", line)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&bytes.Buffer{}) {
		t.Fatal("a file or a buffer taken for a terminal")
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		tty, err = os.OpenFile("/dev/null", os.O_WRONLY, 0) // a character device too
		if err != nil {
			t.Fatal(err)
		}
	}
	defer tty.Close()
	if !IsTerminal(tty) {
		t.Fatalf("%s is a character device, not reported as a terminal", tty.Name())
	}
}
