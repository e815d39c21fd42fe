package httpserver

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// UnmatchedRoute is the route label of requests that matched no route (a
// 404 for a path the server does not know): raw paths would make one
// series per path a client invents.
const UnmatchedRoute = "unmatched"

// OtherMethod is the method label of requests whose method is not one of
// the standard ones, for the same reason.
const OtherMethod = "other"

// DurationBuckets are the bounds, in seconds, of
// http_request_duration_seconds: 1 ms to 10 s, for an API whose answers
// take milliseconds and whose timeouts are seconds.
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// ServeMetrics serves reg at GET /metrics on e, and counts every request e
// answers from then on, on reg:
//
//	http_requests_total{method,route,status}          counter
//	http_request_duration_seconds{method,route}       histogram
//
// route is the route's template as registered ("/orders/:id"), never the
// raw path; a request no route matched is UnmatchedRoute, a method outside
// the standard ones OtherMethod, so the series stay bounded whatever
// clients send. status is the status of the answer sent, after the error
// handler has turned an error into one. Every route is counted, /metrics,
// /healthz and /readyz included: a failing readiness probe or a scrape
// that errors shows up like any other answer, and a query leaves them out
// by their route label. The duration runs from the moment the server
// starts on the request (before routing) to the end of its answer.
//
// Call it once per registry, on an instance made by New (it installs a
// Pre middleware, so it measures requests the other middleware refuse,
// such as a body over the limit, too).
func ServeMetrics(e *echo.Echo, reg *prometheus.Registry) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time from routing an HTTP request to the end of its answer, by method and route template.",
		Buckets: DurationBuckets,
	}, []string{"method", "route"})
	reg.MustRegister(requests, duration)

	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				// Answer now, so the status counted is the one sent; the
				// error handler ignores a committed response afterwards.
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = UnmatchedRoute
			}
			method := methodLabel(c.Request().Method)
			requests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
			duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return OtherMethod
}

// ServeProfiles serves the Go runtime's profiles (net/http/pprof) under
// GET /debug/pprof/ on e, e.g. `go tool pprof
// http://host:port/debug/pprof/profile?seconds=10`. The routes have no
// authentication: serve them only where the port is not reachable by
// others. They get no span.
func ServeProfiles(e *echo.Echo) {
	e.GET("/debug/pprof/*", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
	e.GET("/debug/pprof/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
	e.GET("/debug/pprof/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
	e.GET("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
	e.GET("/debug/pprof/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
}
