// Command inventory runs the inventory service: stock levels and the
// reservation step of the order saga. It is configured through the environment
// (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/inventory/app"
)

func main() { service.Main("inventory", app.ConfigFromEnv, app.Start) }
