// Command order runs the order service: the orders HTTP API and the
// consumer of payment and inventory events. It is configured through the
// environment (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/app"
)

func main() { service.Main("order", app.ConfigFromEnv, app.Start) }
