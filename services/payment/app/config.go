package app

import "github.com/outboxcdc/outboxcdc/libs/service"

// Defaults of the environment variables ConfigFromEnv reads.
const (
	DefaultHTTPAddr        = "127.0.0.1:8081"
	DefaultDatabaseURL     = "postgres://payment_service:payment_service@127.0.0.1:5432/payments?sslmode=disable"
	DefaultKafkaBrokers    = service.DefaultKafkaBrokers
	DefaultKafkaGroup      = "payment-service"
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
	return service.ConfigFromEnv(getenv, "payment", service.Defaults{
		HTTPAddr: DefaultHTTPAddr, DatabaseURL: DefaultDatabaseURL, Group: DefaultKafkaGroup,
	})
}
