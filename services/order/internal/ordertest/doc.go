// Package ordertest drives the order service's HTTP API from tests and
// reads back what it stored: the client side of the contract, shared by
// the HTTP adapter's tests and the whole service's. Import it from
// _test.go files only.
package ordertest
