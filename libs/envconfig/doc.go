// Package envconfig reads typed settings from environment variables and
// reports every bad one at once.
//
//	r := envconfig.New(getenv)                  // os.Getenv in main, a map in tests
//	addr := r.HostPort("HTTP_ADDR", "127.0.0.1:8080")
//	wait := r.Duration("DATABASE_WAIT", 30*time.Second)
//	if err := r.Err(); err != nil { ... }       // names each bad variable
//
// # Contract
//
//   - A variable that is unset or blank takes the default. Values are
//     trimmed of surrounding white space.
//   - The value in use, a default given as text included, is checked; a
//     bad one records an *Error and the method returns the default
//     (HostPorts returns nil). Use the values only when Err is nil.
//   - Err joins every recorded *Error, in the order the variables were
//     read; errors.As finds each one. Its text is NAME="value": reason, or
//     NAME: reason where the value is withheld.
//   - A PostgreSQL URL is never echoed with its password: it appears
//     redacted, or not at all when it does not parse.
//
// The package reads nothing by itself: the caller passes getenv, so only
// main touches the process environment.
package envconfig
