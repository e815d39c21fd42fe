-- Inventory service schema: stock levels, reservations, and the
-- outbox/inbox pair that ties the service to the saga.

-- available + reserved is every unit put in; neither may go negative, even
-- if a bug or a race got past the row locks.
CREATE TABLE stock (
    sku        varchar(64) PRIMARY KEY,
    available  integer     NOT NULL CHECK (available >= 0),
    reserved   integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (order, SKU). No foreign key to stock: a rejected order may
-- name SKUs that do not exist.
CREATE TABLE reservations (
    order_id   uuid        NOT NULL,
    sku        varchar(64) NOT NULL,
    quantity   integer     NOT NULL CHECK (quantity > 0),
    status     varchar(16) NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED', 'REJECTED')),
    version    integer     NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, sku)
);

CREATE INDEX reservations_sku_idx ON reservations (sku) WHERE status IN ('RESERVED', 'COMMITTED');

-- Outbox table in the shape of Debezium's Outbox Event Router defaults
-- (copy of libs/outbox/schema.sql).
CREATE TABLE outbox (
    id            uuid         PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid   varchar(255) NOT NULL,
    type          varchar(255) NOT NULL,
    payload       jsonb        NOT NULL,
    occurred_at   timestamp    NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    traceparent   varchar(55)
);

-- Inbox table: one row per (consumer group, event id) the group has handled
-- (copy of libs/inbox/schema.sql).
CREATE TABLE inbox (
    consumer_group  text        NOT NULL,
    event_id        uuid        NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    event_type      text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('processed', 'dead_lettered')),
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

-- Supports pruning rows older than the longest redelivery window.
CREATE INDEX inbox_received_at_idx ON inbox (received_at);

-- The CDC connector streams only the outbox; creating the publication here
-- means its role needs SELECT on the table, never ownership.
CREATE PUBLICATION outbox_publication FOR TABLE outbox;

DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc') THEN GRANT SELECT ON outbox TO cdc; END IF; END $$;
