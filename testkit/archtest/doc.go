// Package archtest checks a Go module's import rules against the package
// graph that `go list -deps -test -json` reports. Each service's
// architecture test calls it with that service's layout:
//
//	var rules = archtest.Service("github.com/outboxcdc/outboxcdc/services/payment", "internal/payment")
//
//	func TestImportRules(t *testing.T)       { archtest.Check(t, rules) }
//	func TestRulesCatchViolations(t *testing.T) { archtest.ProveRules(t, rules) }
//
// # Rules
//
// For every package of Rules.Module (test files included):
//
//   - It depends on no other deployable's code: nothing below a prefix in
//     Rules.Deployables except Module itself (one service never compiles
//     another's code in).
//   - The domain (Rules.Domain and the packages below it) imports only the
//     standard library, Rules.DomainMayImport and itself, and reaches
//     nothing in Rules.Infrastructure even transitively. A package
//     Rules.DomainMayImport names is exempt from Rules.Infrastructure (a
//     service's domain may use libs/validation although the rest of libs is
//     infrastructure to it), but what that package reaches is not.
//   - The event handlers (Rules.Handlers) reach nothing in Rules.HTTP, even
//     transitively: they react to events and never call a service. The
//     imports of Rules.Opaque packages (for a service, this repository's
//     libraries) are not followed: the consumer runtime reaches net/http
//     through trace context propagation without ever making a request.
//   - An adapter (each of Rules.Adapters) never imports another adapter.
//
// Paths are matched as prefixes on whole path elements: "a/b" covers "a/b"
// and "a/b/c", not "a/bc".
//
// # Limits
//
// Load runs the go command, so the test needs it on PATH and a module (or
// workspace) the pattern resolves in. Only the packages that `go list`
// reports for the current build configuration are checked; files behind
// other build tags are not. External test packages (package x_test) are
// checked as packages of their own, under no layer rule but the
// deployables rule.
package archtest
