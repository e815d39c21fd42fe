// Package httpapi is the inventory service's HTTP API, built on
// libs/httpserver (echo v4):
//
//	PUT /stock/{sku}              {"available": n}   set the available count (creates the SKU)
//	GET /stock/{sku}                                 {"sku", "available", "reserved"}; 404 when unknown
//	GET /reservations?orderId={uuid}                 {"reservations": [...]} of that order
//
// plus GET /healthz and GET /readyz. Errors leave as
// {"error": {"code", "message", "details"}}: 400 for malformed JSON, wrong
// types and unknown fields, 422 with field details for invalid values, 404
// for unknown SKUs, 413 for an oversize body. Each stock level set is
// logged.
package httpapi
