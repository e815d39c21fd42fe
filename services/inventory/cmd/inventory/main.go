// Command inventory runs the inventory service: stock levels and the
// reservation step of the order saga. It is configured through the environment
// (see app.ConfigFromEnv) and logs JSON to stdout.
package main

import (
	"context"
	"io"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
	"github.com/outboxcdc/outboxcdc/libs/service"
	"github.com/outboxcdc/outboxcdc/services/inventory/app"
)

func main() {
	program.Main("inventory", func(ctx context.Context, release context.CancelFunc) error {
		return run(ctx, release, os.Getenv, os.Stdout)
	})
}

// run is the command: the environment in, a JSON log out, the service
// until a signal or a component failure (see service.Command).
func run(ctx context.Context, release context.CancelFunc, getenv func(string) string, stdout io.Writer) error {
	return service.Command(ctx, release, getenv, stdout, app.ConfigFromEnv, app.Start)
}
