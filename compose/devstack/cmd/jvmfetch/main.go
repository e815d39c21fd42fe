// Command jvmfetch fetches the jars of the real stack (Apache Kafka, Kafka
// Connect, Debezium) with Maven into the cache jvmstack uses, and prints
// the directory holding them. A second run is a no-op.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/outboxcdc/outboxcdc/testkit/jvmstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	lib, err := jvmstack.Fetch(ctx, jvmstack.FetchConfig{Output: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "jvmfetch:", err)
		os.Exit(1)
	}
	fmt.Println(lib)
}
