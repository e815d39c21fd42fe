// Package jvmstack runs the real production stack's JVM parts as plain
// processes, without Docker: a single-node Apache Kafka broker in KRaft mode
// and a Kafka Connect distributed worker carrying Debezium's PostgreSQL
// connector and Outbox Event Router.
//
// The jars come from Maven Central through compose/jvm/pom.xml: Fetch copies
// its runtime classpath into a cache directory outside the source tree, keyed
// by the POM's content, so a second Fetch is a no-op and concurrent callers
// (parallel test binaries) fetch once.
//
//	lib, err := jvmstack.Fetch(ctx, jvmstack.FetchConfig{})
//	kafka, err := jvmstack.StartBroker(ctx, jvmstack.BrokerConfig{LibDir: lib, Dir: dir})
//	connect, err := jvmstack.StartConnect(ctx, jvmstack.ConnectConfig{LibDir: lib, Dir: dir2, Bootstrap: kafka.Addr()})
//
// Guarantees:
//   - StartBroker returns once the broker answers a metadata request with
//     itself as a live broker and a controller; StartConnect once the worker's
//     REST API answers GET / with 200. A process that exits or a deadline
//     that passes first is an error carrying the process's last log lines.
//   - A broker's storage is formatted once per state directory; a restarted
//     broker keeps its topics and offsets.
//   - Stop sends SIGTERM, waits for a clean shutdown and kills after a grace
//     period. The JVMs get SIGTERM when the Go process that started them dies.
//   - ErrNoJava (wrapped) means java or mvn is missing; its message carries
//     the Debian command that installs them.
//
// The worker's settings (WorkerProperties) are the ones compose/compose.yaml
// gives the Debezium Connect container; a test in compose/devstack/stackfiles
// fails when the two differ.
package jvmstack
