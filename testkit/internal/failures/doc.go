// Package failures lets the tests of the libraries' test helpers see what
// a helper reports: Of runs the helper against a stand-in for the test that
// collects Error and Fatal calls instead of failing, and stops the helper's
// goroutine on Fatal as the testing package does. Cleanups, the context and
// logging go to the real test. Only the libraries' tests import it.
package failures
