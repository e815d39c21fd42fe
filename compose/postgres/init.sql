-- Database init shared by both stacks: the docker compose PostgreSQL runs it
-- through init.sh on first start; the embedded stack (make dev) runs it when
-- it creates its cluster. It expects psql-style variables holding the
-- passwords (:'order_password', ...); both runners fill them from the
-- environment, with local-only defaults.
--
-- Each service gets a login role that owns only its database. The cdc role is
-- what the connectors log in as. What it can do, honestly:
--
--   * Connect only to the three service databases (pg_hba.conf; the CONNECT
--     grants below), and open no physical replication connection, so no base
--     backup of the cluster (pg_hba.conf has no "replication" line).
--   * Read with SQL only each service's outbox table (granted by that
--     service's first migration), nothing else.
--   * But REPLICATION lets it create logical slots in those databases and
--     decode them with any installed output plugin. With test_decoding (or
--     pgoutput and a publication someone else made) it can read every change
--     to every table of the three databases from then on: payments, balances,
--     stock, not only the outbox. PostgreSQL has no finer grant for logical
--     decoding. Treat cdc's password like the services' own.
--   * Each slot it creates holds back WAL; max_slot_wal_keep_size caps that
--     per slot, and max_replication_slots caps the number of slots (both in
--     compose.yaml and the embedded stack's settings).

CREATE ROLE order_service LOGIN PASSWORD :'order_password';
CREATE ROLE payment_service LOGIN PASSWORD :'payment_password';
CREATE ROLE inventory_service LOGIN PASSWORD :'inventory_password';
CREATE ROLE cdc LOGIN REPLICATION PASSWORD :'cdc_password';

CREATE DATABASE orders OWNER order_service;
CREATE DATABASE payments OWNER payment_service;
CREATE DATABASE inventory OWNER inventory_service;

REVOKE ALL ON DATABASE orders FROM PUBLIC;
REVOKE ALL ON DATABASE payments FROM PUBLIC;
REVOKE ALL ON DATABASE inventory FROM PUBLIC;
GRANT CONNECT ON DATABASE orders TO cdc;
GRANT CONNECT ON DATABASE payments TO cdc;
GRANT CONNECT ON DATABASE inventory TO cdc;
