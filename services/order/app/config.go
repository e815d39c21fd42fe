package app

import "github.com/outboxcdc/outboxcdc/libs/service"

// The order service's own defaults; the others are service.ConfigFromEnv's.
const (
	DefaultHTTPAddr    = "127.0.0.1:8080"
	DefaultDatabaseURL = "postgres://order_service:order_service@127.0.0.1:5432/orders?sslmode=disable"
	DefaultKafkaGroup  = "order-service"
	// DefaultMaxBacklog is MAX_BACKLOG's default: orders still PENDING past
	// which new ones are refused. At the 100 to 200 orders/s the saga
	// finishes on two cores, five to ten seconds of work.
	DefaultMaxBacklog = 1000
)

// ConfigFromEnv reads the configuration through getenv, filling this
// service's defaults for unset variables (the variables are those of
// service.ConfigFromEnv). The error names every bad variable.
func ConfigFromEnv(getenv func(string) string) (service.Config, error) {
	return service.ConfigFromEnv(getenv, "order", service.Defaults{
		HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL, Group: DefaultKafkaGroup, MaxBacklog: DefaultMaxBacklog,
	})
}
