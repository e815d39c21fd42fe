#!/usr/bin/env bash
# Registers Kafka Connect connectors and waits until they run.
#
#   scripts/register-connector.sh [--url URL] [--timeout SECONDS] [FILE.json ...]
#
# Works against Debezium on Kafka Connect (make up) and against walrelay
# (make dev) alike. Each FILE is a flat connector config; the connector is
# named after the file (connectors/debezium/orders.json -> "orders"). With no
# FILE, every connectors/debezium/*.json is registered. For each one the
# script waits for the REST API (GET /), PUTs the config (201 created or 200
# updated, so running it twice is harmless), then polls the status until the
# connector and all its tasks are RUNNING. On FAILED it prints the trace and
# exits 1; on timeout it exits 1 too.
#
# Environment: CONNECT_URL (default http://127.0.0.1:8083), REGISTER_TIMEOUT
# (seconds, default 120).
set -euo pipefail

url="${CONNECT_URL:-http://127.0.0.1:8083}"
timeout="${REGISTER_TIMEOUT:-120}"
files=()

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--url) url="${2:?--url needs a value}"; shift 2 ;;
	--url=*) url="${1#--url=}"; shift ;;
	--timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
	--timeout=*) timeout="${1#--timeout=}"; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "register-connector: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) files+=("$1"); shift ;;
	esac
done

if ! command -v curl >/dev/null 2>&1; then
	echo "register-connector: curl is required but not installed (Debian: apt-get install -y curl)" >&2
	exit 2
fi

if [ ${#files[@]} -eq 0 ]; then
	dir="$(cd "$(dirname "$0")/.." && pwd)/connectors/debezium"
	shopt -s nullglob
	files=("$dir"/*.json)
	shopt -u nullglob
	if [ ${#files[@]} -eq 0 ]; then
		echo "register-connector: no connector files given and none in $dir" >&2
		exit 2
	fi
fi
for f in "${files[@]}"; do
	[ -r "$f" ] || { echo "register-connector: cannot read $f" >&2; exit 2; }
done

deadline=$(($(date +%s) + timeout))
past_deadline() { [ "$(date +%s)" -ge "$deadline" ]; }

# Wait for the REST API.
until curl -fsS -o /dev/null "$url/" 2>/dev/null; do
	if past_deadline; then
		echo "register-connector: Kafka Connect REST API at $url did not answer within ${timeout}s" >&2
		exit 1
	fi
	sleep 1
done

# json_states prints every "state" value of a status body, connector first;
# nothing (and success) for a body without one, such as Kafka Connect's 404
# in the moment between a connector's creation and its first status.
json_states() { { grep -o '"state" *: *"[A-Z_]*"' || true; } | sed 's/.*"\([A-Z_]*\)"$/\1/'; }

# print_trace shows the failure traces of a status body, unescaped.
print_trace() {
	if command -v jq >/dev/null 2>&1; then
		jq -r '[.connector.trace // empty] + [.tasks[]?.trace // empty] | .[]' <<<"$1" >&2
	else
		grep -o '"trace" *: *"\([^"\\]\|\\.\)*"' <<<"$1" | sed 's/^"trace" *: *"//; s/"$//' | while IFS= read -r t; do printf '%b\n' "$t" >&2; done
	fi
}

status=0
for f in "${files[@]}"; do
	name="$(basename "$f" .json)"
	body_file="$(mktemp)"
	code=$(curl -sS -o "$body_file" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
		--data-binary @"$f" "$url/connectors/$name/config") || code=000
	case "$code" in
	201) echo "$name: created" ;;
	200) echo "$name: updated" ;;
	*)
		echo "$name: PUT /connectors/$name/config answered $code:" >&2
		cat "$body_file" >&2; echo >&2
		rm -f "$body_file"
		status=1
		continue
		;;
	esac
	rm -f "$body_file"

	while :; do
		body="$(curl -sS "$url/connectors/$name/status" 2>/dev/null || true)"
		states="$(json_states <<<"$body" | tr '\n' ' ')"
		if grep -q FAILED <<<"$states"; then
			echo "$name: FAILED" >&2
			print_trace "$body"
			status=1
			break
		fi
		# connector state plus at least one task, all RUNNING
		set -- $states
		if [ $# -ge 2 ] && [ -z "$(tr ' ' '\n' <<<"$states" | grep -v '^RUNNING$' | grep -v '^$' || true)" ]; then
			echo "$name: RUNNING"
			break
		fi
		if past_deadline; then
			echo "$name: not RUNNING within ${timeout}s (states: ${states:-none}; last status: $body)" >&2
			status=1
			break
		fi
		sleep 1
	done
done
exit $status
