package service

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a service's own Prometheus registry, holding the Go
// runtime and process collectors; the service's parts register their
// metrics on it and its HTTP server serves it at GET /metrics
// (httpserver.ServeMetrics). Each service has its own rather than the
// global default, so several services can run in one process (as tests
// and the embedded stack run them) without their series colliding.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
