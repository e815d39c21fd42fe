-- Database init shared by both stacks: the docker compose PostgreSQL runs it
-- through init.sh on first start; the embedded stack (make dev) runs it when
-- it creates its cluster. It expects psql-style variables holding the
-- passwords (:'order_password', ...); both runners fill them from the
-- environment, with local-only defaults.
--
-- Each service gets a login role that owns only its database. The cdc role is
-- what the connectors log in as: it may replicate and, once each service's
-- first migration has run, read that service's outbox table, nothing else.

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
