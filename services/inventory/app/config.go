package app

import "github.com/outboxcdc/outboxcdc/libs/service"

// The inventory service's own defaults; the others are service.ConfigFromEnv's.
const (
	DefaultHTTPAddr    = "127.0.0.1:8082"
	DefaultDatabaseURL = "postgres://inventory_service:inventory_service@127.0.0.1:5432/inventory?sslmode=disable"
	DefaultKafkaGroup  = "inventory-service"
)

// ConfigFromEnv reads the configuration through getenv, filling this
// service's defaults for unset variables (the variables are those of
// service.ConfigFromEnv). The error names every bad variable.
func ConfigFromEnv(getenv func(string) string) (service.Config, error) {
	return service.ConfigFromEnv(getenv, "inventory", service.Defaults{
		HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL, Group: DefaultKafkaGroup,
	})
}
