// Package validation is the one error type for input that breaks a rule:
// an *Error lists every invalid field, each with why it is invalid.
//
// The domains return it from their constructors and decisions, and the HTTP
// plumbing (package httpserver) answers it, wherever it is wrapped, with
// 422 validation_failed and one detail per field:
//
//	var v validation.Error
//	if strings.TrimSpace(in.CustomerID) == "" {
//		v.Add("customerId", "is required")
//	}
//	return v.Err() // nil when no field was added
//
// # Contract
//
// Fields keep the order they were added in. Field names are what the
// caller sees: the wire names of the request ("customerId",
// "items[0].quantity") or of a header ("Idempotency-Key"). Err returns nil,
// not a nil *Error in an error interface, when nothing was added.
//
// # Limits
//
// The package imports only the standard library, so a domain package may
// use it without reaching a database, HTTP or broker library.
package validation
