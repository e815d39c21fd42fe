// Command devstack runs a whole stack in the foreground: a PostgreSQL
// cluster from the local server binaries, a Kafka broker, Kafka Connect (or
// walrelay, which answers the same REST API) and the order, payment and
// inventory services. STACK picks the broker and the connector:
//
//	embedded  (default) the kfake-based broker and walrelay: Go only
//	kafka     Apache Kafka (KRaft) and walrelay
//	debezium  Apache Kafka and a Kafka Connect worker with Debezium's
//	          PostgreSQL connector and Outbox Event Router: the production path
//
// Apache Kafka and Kafka Connect run as plain JVM processes from jars that
// Maven fetches once (compose/jvm/pom.xml, package jvmstack). Every stack
// initialises the databases with compose/postgres/init.sql (the same file
// the docker compose stack uses), registers connectors/debezium/*.json with
// scripts/register-connector.sh, prints the endpoints and then the line
// "stack ready".
//
// Every stack also runs Jaeger (v2, in-memory storage) as its tracing
// backend, started first and stopped last, and the services send their
// spans to it over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT). Its binary is
// built from tools/jaeger the first time a machine needs it (minutes) and
// kept in ~/.cache/outboxcdc/jaeger; JAEGER=off runs the stack without it
// and gives the services no endpoint.
//
// Once the stack is ready, a process that dies (PostgreSQL, the broker,
// Kafka Connect or walrelay, a service) is started again after a backoff,
// with a log line and a restart count that `devstack ps` shows, as compose's
// restart: unless-stopped does; a process that dies while the stack starts
// stops start-up instead. SIGINT or SIGTERM stops every process it started,
// services first and PostgreSQL last. State lives in the directory given by DEV_DIR (default
// .dev/<stack> at the repository root), so a restart resumes where it
// stopped.
//
// Subcommands run the stack detached, as `make up` does:
//
//	devstack up       start it in the background and return once it is ready
//	devstack ps       each component's state, pid, address and health
//	devstack logs [C] follow the stack's log, or one component's
//	devstack down     stop it (DOWN_VOLUMES=1 also deletes its data)
//	devstack jaeger   build the Jaeger binary if needed and print its path
//
// The detached stack defaults to STACK=debezium and keeps everything in
// STACK_DIR [.stack]. With a Docker engine and the compose plugin the same
// subcommands drive compose/compose.yaml; UP_WITH=compose|local forces one.
//
// Environment (defaults in brackets): STACK [embedded], DEV_DIR
// [.dev/<stack>], PG_PORT [5432], KAFKA_PORT [9092], KAFKA_CONTROLLER_PORT
// [9093, Apache Kafka only], CONNECT_PORT [8083], ORDER_PORT [8080],
// PAYMENT_PORT [8081], INVENTORY_PORT [8082], POSTGRES_PASSWORD [postgres],
// ORDER_DB_PASSWORD [order_service], PAYMENT_DB_PASSWORD [payment_service],
// INVENTORY_DB_PASSWORD [inventory_service], CDC_DB_PASSWORD [cdc],
// LOG_LEVEL [info], JAEGER [on; off leaves Jaeger out], JAEGER_PORT [16686,
// query API and UI], JAEGER_OTLP_PORT [4318, OTLP over HTTP].
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/outboxcdc/outboxcdc/libs/program"
)

func main() {
	program.Main("devstack", func(ctx context.Context, _ context.CancelFunc) error { return dispatch(ctx, os.Args[1:]) })
}

func dispatch(ctx context.Context, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return run(ctx, os.Getenv, os.Stdout)
	case "jaeger":
		return printJaegerBinary(ctx, os.Stdout)
	}
	d, err := newDetached(os.Getenv, os.Stdout)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return d.up(ctx)
	case "ps":
		return d.ps(ctx)
	case "down":
		return d.down(ctx, os.Getenv("DOWN_VOLUMES") != "")
	case "logs":
		component := ""
		if len(args) > 0 {
			component = args[0]
		}
		return d.logs(ctx, component)
	default:
		return fmt.Errorf("unknown command %q: want run, up, ps, logs, down or jaeger", cmd)
	}
}
