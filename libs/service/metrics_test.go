package service_test

import (
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/service"
)

// Two services in one process each have a registry of their own: the same
// metrics register on both without colliding, and each holds the Go and
// process collectors.
func TestRegistriesArePerService(t *testing.T) {
	for _, name := range []string{"order", "payment"} {
		t.Run(name, func(t *testing.T) {
			reg := service.NewRegistry()
			httpserver.ServeMetrics(echo.New(), reg)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, mf := range mfs {
				have[mf.GetName()] = true
			}
			for _, want := range []string{"go_goroutines", "process_cpu_seconds_total"} {
				if !have[want] {
					t.Errorf("%s missing from the registry", want)
				}
			}
		})
	}
}
