// Command payment runs the payment service: customer accounts and the
// payment step of the order saga. It is configured through the environment
// (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/payment/app"
)

func main() { service.Main("payment", app.ConfigFromEnv, app.Start) }
