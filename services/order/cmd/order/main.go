// Command order runs the order service: the orders HTTP API and the
// consumer of payment and inventory events. It is configured through the
// environment (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"context"
	"io"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/order/app"
)

func main() {
	program.Main("order", func(ctx context.Context, release context.CancelFunc) error {
		return run(ctx, release, os.Getenv, os.Stdout)
	})
}

// run is the command: the environment in, a JSON log out, the service
// until a signal or a component failure (see service.Command).
func run(ctx context.Context, release context.CancelFunc, getenv func(string) string, stdout io.Writer) error {
	return service.Command(ctx, release, getenv, stdout, app.ConfigFromEnv, app.Start)
}
