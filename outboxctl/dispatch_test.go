package main

import (
	"strings"
	"testing"
)

// TestDispatch: every command is listed and has its help; what is not a
// command, or not a command's usage, exits 2 before anything is dialled.
func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "help lists every command", args: []string{"help"}, wantStdout: []string{"audit", "order", "lag", "dlq", "help"}},
		{name: "help order", args: []string{"help", "order"}, wantStdout: []string{"usage: outboxctl order", "-json", "-orders-db", "-timeout", "Exit status 0"}},
		{name: "help lag", args: []string{"help", "lag"}, wantStdout: []string{"usage: outboxctl lag", "-max-lag", "-group", "last stable offset"}},
		{name: "help dlq", args: []string{"help", "dlq"}, wantStdout: []string{"usage: outboxctl dlq list|show|replay", "replay"}},
		{name: "dlq replay -h", args: []string{"dlq", "replay", "-h"}, wantStderr: []string{"-dry-run", "-all", "Safe to repeat", "dead_lettered"}},
		{name: "dlq list -h", args: []string{"dlq", "list", "-h"}, wantStderr: []string{"-group", "-type", "-topic", "-since"}},
		{name: "unknown command", args: []string{"replay"}, wantCode: 2, wantStderr: []string{`unknown command "replay"`, "usage: outboxctl <command>"}},
		{name: "help of an unknown command", args: []string{"help", "rewind"}, wantCode: 2, wantStderr: []string{`unknown command "rewind"`}},
		{name: "dlq without subcommand", args: []string{"dlq"}, wantCode: 2, wantStderr: []string{"usage: outboxctl dlq"}},
		{name: "dlq unknown subcommand", args: []string{"dlq", "purge"}, wantCode: 2, wantStderr: []string{`unknown subcommand "purge"`}},
		{name: "order without id", args: []string{"order"}, wantCode: 2, wantStderr: []string{"no order id"}},
		{name: "order id not a UUID", args: []string{"order", "42"}, wantCode: 2, wantStderr: []string{`order id "42" is not a UUID`}},
		{name: "order with two ids", args: []string{"order", "a", "b"}, wantCode: 2, wantStderr: []string{"one order id"}},
		{name: "lag stray argument", args: []string{"lag", "now"}, wantCode: 2, wantStderr: []string{"unexpected arguments"}},
		{name: "lag bad threshold", args: []string{"lag", "--max-lag", "many"}, wantCode: 2, wantStderr: []string{"invalid value"}},
		{name: "dlq list bad since", args: []string{"dlq", "list", "--since", "yesterday"}, wantCode: 2, wantStderr: []string{"--since"}},
		{name: "dlq show bad record", args: []string{"dlq", "show", "outbox.event.order.dlq@3"}, wantCode: 2, wantStderr: []string{"<topic>/<partition>@<offset>"}},
		{name: "dlq replay nothing", args: []string{"dlq", "replay"}, wantCode: 2, wantStderr: []string{"--all"}},
		{name: "dlq replay both", args: []string{"dlq", "replay", "--all", "t.dlq/0@1"}, wantCode: 2, wantStderr: []string{"not both"}},
		{name: "empty brokers", args: []string{"lag", "--brokers", " , "}, wantCode: 2, wantStderr: []string{"--brokers is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout, stderr)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}
