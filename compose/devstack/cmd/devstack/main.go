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
// SIGINT or SIGTERM stops every process it started, services first and
// PostgreSQL last. State lives in the directory given by DEV_DIR (default
// .dev/<stack> at the repository root), so a restart resumes where it
// stopped.
//
// Environment (defaults in brackets): STACK [embedded], DEV_DIR
// [.dev/<stack>], PG_PORT [5432], KAFKA_PORT [9092], KAFKA_CONTROLLER_PORT
// [9093, Apache Kafka only], CONNECT_PORT [8083], ORDER_PORT [8080],
// PAYMENT_PORT [8081], INVENTORY_PORT [8082], POSTGRES_PASSWORD [postgres],
// ORDER_DB_PASSWORD [order_service], PAYMENT_DB_PASSWORD [payment_service],
// INVENTORY_DB_PASSWORD [inventory_service], CDC_DB_PASSWORD [cdc],
// LOG_LEVEL [info].
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}
