#!/usr/bin/env bash
# Registers Kafka Connect connectors and waits until they run.
#
#   scripts/register-connector.sh [--url URL] [--timeout SECONDS] [FILE.json ...]
#
# Works against Debezium on Kafka Connect (make up) and against walrelay
# (make dev) alike. Each FILE is a flat connector config; the connector is
# named after the file (connectors/debezium/orders.json -> "orders"). With no
# FILE, every connectors/debezium/*.json is registered.
#
# With nothing listening at URL it exits 1 at once, naming the URL and the
# commands that start a stack. While the REST API answers but is not ready
# (Connect starting), it waits and says so. For each file it validates the
# config with PUT /connector-plugins/{class}/config/validate and prints each
# field error on one line, PUTs the config (201 created or 200 updated, so
# running it twice is harmless), then polls the status until the connector
# and all its tasks are RUNNING. On FAILED it prints the trace and exits 1;
# on timeout it exits 1 too.
#
# Environment: CONNECT_BASIC_AUTH (user:password, for a REST API that
# requires HTTP basic authentication), CONNECT_URL (default http://127.0.0.1:8083), REGISTER_TIMEOUT
# (seconds, default 120).
set -euo pipefail

url="${CONNECT_URL:-http://127.0.0.1:8083}"
timeout="${REGISTER_TIMEOUT:-120}"
files=()

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

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

# curl_auth holds curl's -u option when the REST API needs a user.
curl_auth=()
if [ -n "${CONNECT_BASIC_AUTH:-}" ]; then
	curl_auth=(-u "$CONNECT_BASIC_AUTH")
fi

# probe prints the HTTP status of GET $url/, or 000 when nothing answers.
probe() { curl "${curl_auth[@]}" -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 "$url/" 2>/dev/null || true; }

code=$(probe)
if [ "$code" = "000" ] || [ -z "$code" ]; then
	echo "register-connector: nothing answers at $url (Kafka Connect REST API); start a stack with make up (Debezium) or make dev (embedded), or pass --url" >&2
	exit 1
fi
if [ "$code" = "401" ]; then
	echo "register-connector: $url requires a user and password; set CONNECT_BASIC_AUTH=user:password" >&2
	exit 1
fi
said=""
while [ "$code" != "200" ]; do
	if [ "$said" != "$code" ]; then
		echo "register-connector: waiting for Kafka Connect at $url/ (answered ${code/#000/nothing})"
		said="$code"
	fi
	if past_deadline; then
		echo "register-connector: Kafka Connect REST API at $url did not become ready within ${timeout}s (last answer: $code)" >&2
		exit 1
	fi
	sleep 1
	code=$(probe)
done

# validate PUTs a config to Kafka Connect's validation endpoint and prints
# "name: field: error" for each field error; it fails when there is one.
validate() {
	local name="$1" file="$2" class body errors
	class=$(grep -o '"connector.class" *: *"[^"]*"' "$file" | sed 's/.*"\([^"]*\)"$/\1/' | head -1)
	if [ -z "$class" ]; then
		echo "$name: $file has no connector.class" >&2
		return 1
	fi
	# Kafka Connect validates "name" too: add it, as the PUT of the config does.
	body=$(sed '0,/{/s//{"name": "'"$name"'",/' "$file" |
		curl "${curl_auth[@]}" -sS --max-time 30 -X PUT -H 'Content-Type: application/json' --data-binary @- \
			"$url/connector-plugins/$class/config/validate" 2>&1) || {
		echo "$name: validating against $url failed: $body" >&2
		return 1
	}
	case "$body" in
	*'"error_count":0'* | *'"error_count": 0'*) return 0 ;;
	*'"error_count"'*) ;;
	*)
		echo "$name: PUT /connector-plugins/$class/config/validate answered: $body" >&2
		return 1
		;;
	esac
	# One "value" object per field: {"name":"...","value":...,"errors":["..."],...}.
	errors=$(sed 's/"value" *: *{ *"name" *: *"/\n/g' <<<"$body" | tail -n +2 |
		sed -n 's/^\([^"]*\)".*"errors" *: *\[\("[^]]*"\)\].*/\1\t\2/p')
	while IFS=$'\t' read -r field errs; do
		[ -n "$field" ] || continue
		sed 's/^"//; s/"$//; s/" *, *"/\n/g' <<<"$errs" | while IFS= read -r e; do
			printf '%s: invalid config: %s: %s\n' "$name" "$field" "$(sed 's/\\"/"/g; s/\\\\/\\/g' <<<"$e")" >&2
		done
	done <<<"$errors"
	return 1
}

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
	if ! validate "$name" "$f"; then
		status=1
		continue
	fi
	body_file="$(mktemp)"
	code=$(curl "${curl_auth[@]}" -sS -o "$body_file" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
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
		body="$(curl "${curl_auth[@]}" -sS "$url/connectors/$name/status" 2>/dev/null || true)"
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
			if [ $# -lt 2 ] || grep -q UNASSIGNED <<<"$states"; then
				echo "$name: a task runs once its replication slot exists, and PostgreSQL creates a slot only after every transaction running when it was asked has ended: look for sessions idle in transaction in pg_stat_activity" >&2
			fi
			status=1
			break
		fi
		sleep 1
	done
done
exit $status
