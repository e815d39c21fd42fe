package app

import "github.com/outboxcdc/outboxcdc/libs/service"

// Defaults of the environment variables ConfigFromEnv reads.
const (
	DefaultHTTPAddr        = "127.0.0.1:8080"
	DefaultDatabaseURL     = "postgres://order_service:order_service@127.0.0.1:5432/orders?sslmode=disable"
	DefaultKafkaBrokers    = service.DefaultKafkaBrokers
	DefaultKafkaGroup      = "order-service"
	DefaultHTTPBodyLimit   = service.DefaultHTTPBodyLimit
	DefaultShutdownTimeout = service.DefaultShutdownTimeout
	DefaultDatabaseWait    = service.DefaultDatabaseWait
)

// Config is everything Start needs: the settings every service shares
// (see service.Config).
type Config = service.Config

// ConfigFromEnv reads the configuration through getenv, filling this
// service's defaults for unset variables (the variables are those of
// service.ConfigFromEnv). The error names every bad variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	return service.ConfigFromEnv(getenv, "order", service.Defaults{
		HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL, Group: DefaultKafkaGroup,
	})
}
