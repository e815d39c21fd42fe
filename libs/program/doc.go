// Package program is what every command's main does alike: run the
// command under a context that SIGINT and SIGTERM cancel, and turn its
// error into one line on stderr and an exit status.
//
//	func main() { program.Main("order", run) }
//
//	func run(ctx context.Context, release context.CancelFunc) error { ... }
//
// # Contract
//
//   - run's context is cancelled by the first SIGINT or SIGTERM. release
//     gives the signals back to the runtime, so a second one kills the
//     process at once (call it when graceful shutdown starts).
//   - A nil error exits 0. Any other error prints "<name>: <error>" on
//     stderr and exits 1, or with the status of an error that has an
//     ExitCode() int method (see Exit); an Exit error with an empty message
//     prints nothing.
package program
