// Package relay runs walrelay inside another Go program: the Kafka Connect
// worker (connectors, their replication tasks, the config topic) behind the
// REST API and /metrics on a listener the caller provides.
//
// The walrelay command is a thin wrapper around it; tests that want the
// relay in their own process (and under their race detector) use it
// directly:
//
//	r, err := relay.Start(ctx, relay.Config{Brokers: brokers, Listener: ln, Logger: log})
//	...
//	defer r.Close(context.Background())
//	// register connectors at r.URL(), as with Kafka Connect
package relay
