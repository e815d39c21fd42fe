// Package httpapi is the payment service's HTTP API, built on
// libs/httpserver (echo v4):
//
//	PUT /accounts/{customerId}   {"balanceCents": n, "currency": "EUR"}
//	                             create the account or set its balance and
//	                             currency (optional, EUR when absent)
//	GET /accounts/{customerId}   the account; 404 when unknown
//	GET /payments?orderId={uuid} {"payments": [...]} of that order
//
// plus GET /healthz and GET /readyz. Errors leave as
// {"error": {"code", "message", "details"}}: 400 for malformed JSON, wrong
// types and unknown fields, 422 with field details for invalid values, 404
// for unknown accounts, 413 for an oversize body.
package httpapi
