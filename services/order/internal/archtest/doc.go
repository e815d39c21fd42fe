// Package archtest holds the order service's architecture test: it reads
// the module's import graph with `go list -deps -test -json` and fails when
// a package imports what its layer must not (the rules are those of package
// testkit/archtest for a service).
package archtest
