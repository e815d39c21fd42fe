#!/usr/bin/env bash
# Runs init.sql on the compose PostgreSQL's first start (from
# /docker-entrypoint-initdb.d), with passwords from the environment.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v order_password="${ORDER_DB_PASSWORD:-order_service}" \
	-v payment_password="${PAYMENT_DB_PASSWORD:-payment_service}" \
	-v inventory_password="${INVENTORY_DB_PASSWORD:-inventory_service}" \
	-v cdc_password="${CDC_DB_PASSWORD:-cdc}" \
	-f /docker-entrypoint-initdb.d/init.sql.in
