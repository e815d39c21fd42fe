// Command chaos is the fault-injection suite (make chaos): it drives an
// open-loop load of orders through the stack that listens on the standard
// ports, injects faults on a seeded schedule, waits until the system is
// quiet and then runs the auditor (outboxctl audit) over the three
// databases and the topics.
//
// The load uses customers with limited funds and SKUs with limited stock,
// so both compensations of the saga happen. The faults, each printed as
// one line with its time:
//
//	kill      SIGKILL to the relay (walrelay or Kafka Connect) and to each service
//	postgres  an immediate-mode shutdown of PostgreSQL (SIGQUIT to the postmaster)
//	broker    the broker stopped (SIGSTOP) for a while, then resumed
//	poison    undecodable and invalid records on the routed topics
//	http      malformed requests (each must get a 4xx) and slow clients
//	          sending half a header (each must be cut off by the server)
//
// The stack's supervisor (devstack) restarts what was killed. chaos finds
// the processes only through the stack's state directory (state.json):
// DEV_DIR or -dir, else the one running stack under .dev/ or .stack/. It
// never signals any other process.
//
// The run passes when every accepted order is terminal, the auditor reports
// no violation, every poison record was dead-lettered with its reason, no
// malformed request got a 5xx and no slow client held its connection. The
// last lines are the auditor's table and a verdict; the exit status is 0 on
// a pass, 1 on a violation and 2 when the run could not be made.
package main

import (
	"context"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

func main() {
	program.Main("chaos", func(ctx context.Context, _ context.CancelFunc) error {
		cfg, err := parseConfig(os.Args[1:], os.Getenv)
		if err != nil {
			return program.Exit(2, err.Error())
		}
		return run(ctx, cfg, os.Stdout)
	})
}
