#!/usr/bin/env bash
# End-to-end check of the order saga against whichever stack listens on the
# standard ports (make up: Debezium; make dev: walrelay). It uses only HTTP
# and the Kafka protocol; see compose/devstack/cmd/e2e for the checks.
#
# Environment: ORDER_URL, PAYMENT_URL, INVENTORY_URL, KAFKA_BROKERS,
# E2E_TIMEOUT (per check, default 90s).
#
# Before anything is compiled it checks that every endpoint answers, so with
# no stack running it fails at once with one line naming what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

start_hint="start a stack with make up (Debezium) or make dev (embedded)"
for pair in "order ${ORDER_URL:-http://127.0.0.1:8080}" "payment ${PAYMENT_URL:-http://127.0.0.1:8081}" \
	"inventory ${INVENTORY_URL:-http://127.0.0.1:8082}"; do
	name="${pair%% *}" base="${pair#* }"
	code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 "$base/readyz" 2>/dev/null || true)
	if [ "$code" = "000" ] || [ -z "$code" ]; then
		echo "e2e: nothing answers at $base ($name service); $start_hint" >&2
		exit 1
	fi
done
broker="${KAFKA_BROKERS:-127.0.0.1:9092}"
broker="${broker%%,*}"
if ! timeout 2 bash -c "exec 3<>/dev/tcp/${broker%:*}/${broker##*:}" 2>/dev/null; then
	echo "e2e: nothing answers at $broker (Kafka broker); $start_hint" >&2
	exit 1
fi

if ! command -v go >/dev/null 2>&1; then
	echo "e2e: Go (1.26 or newer) is required: the checker is a small Go program run with go run" >&2
	exit 2
fi
exec go run ./compose/devstack/cmd/e2e "$@"
