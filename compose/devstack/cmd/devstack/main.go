// Command devstack runs the embedded stack in the foreground: a PostgreSQL
// cluster from the local server binaries, the kfake-based Kafka broker,
// walrelay (the Kafka Connect stand-in) and the order, payment and inventory
// services. It initialises the databases with compose/postgres/init.sql
// (the same file the docker compose stack uses), registers
// connectors/debezium/*.json with scripts/register-connector.sh (the same
// script `make register` runs against Debezium), prints the endpoints and
// then the line "stack ready".
//
// SIGINT or SIGTERM stops every process it started, services first and
// PostgreSQL last. State lives in the directory given by DEV_DIR (default
// .dev at the repository root), so a restart resumes where it stopped.
//
// Environment (defaults in brackets): DEV_DIR [.dev], PG_PORT [5432],
// KAFKA_PORT [9092], CONNECT_PORT [8083], ORDER_PORT [8080],
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
