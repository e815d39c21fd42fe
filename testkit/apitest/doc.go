// Package apitest calls a JSON HTTP API built on libs/httpserver from a
// test and reads its answers, errors included. Import it from _test.go
// files only.
//
//	url := apitest.Server(t, httpserver.Config{}, func(e *echo.Echo) { httpapi.Register(e, store) })
//	status, body := apitest.Call(t, http.MethodPut, url+"/accounts/c1", `{"balanceCents": 5}`)
//	code, fields := apitest.ErrorOf(t, body) // "validation_failed", ["balanceCents"]
//
// Every answer must be a JSON object; anything else fails the test, as
// does an error body without its code and message. Requests carry the
// test's context.
package apitest
