// Package archtest holds the order service's architecture test: it reads
// the module's import graph with `go list -deps -json` and fails when a
// package imports what its layer must not (see the rules in the test).
package archtest
