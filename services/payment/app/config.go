package app

import "github.com/outboxcdc/outboxcdc/libs/service"

// The payment service's own defaults; the others are service.ConfigFromEnv's.
const (
	DefaultHTTPAddr    = "127.0.0.1:8081"
	DefaultDatabaseURL = "postgres://payment_service:payment_service@127.0.0.1:5432/payments?sslmode=disable"
	DefaultKafkaGroup  = "payment-service"
)

// ConfigFromEnv reads the configuration through getenv, filling this
// service's defaults for unset variables (the variables are those of
// service.ConfigFromEnv). The error names every bad variable.
func ConfigFromEnv(getenv func(string) string) (service.Config, error) {
	return service.ConfigFromEnv(getenv, "payment", service.Defaults{
		HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL, Group: DefaultKafkaGroup,
	})
}
