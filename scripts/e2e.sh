#!/usr/bin/env bash
# End-to-end check of the order saga against whichever stack listens on the
# standard ports (make up: Debezium; make dev: walrelay). It uses only HTTP
# and the Kafka protocol; see compose/devstack/cmd/e2e for the checks.
#
# Environment: ORDER_URL, PAYMENT_URL, INVENTORY_URL, KAFKA_BROKERS,
# E2E_TIMEOUT (per check, default 90s).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
	echo "e2e: Go (1.26 or newer) is required: the checker is a small Go program run with go run" >&2
	exit 2
fi
exec go run ./compose/devstack/cmd/e2e "$@"
