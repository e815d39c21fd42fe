-- Payment service schema: accounts, payments, and the outbox/inbox pair
-- that ties the service to the saga.

CREATE TABLE accounts (
    customer_id   varchar(100) PRIMARY KEY,
    balance_cents bigint       NOT NULL CHECK (balance_cents >= 0),
    created_at    timestamptz  NOT NULL DEFAULT now(),
    updated_at    timestamptz  NOT NULL DEFAULT now()
);

-- One payment per order: order_id UNIQUE is the last line of defence
-- against charging a customer twice for one order.
CREATE TABLE payments (
    id           uuid         PRIMARY KEY,
    order_id     uuid         NOT NULL UNIQUE,
    customer_id  varchar(100) NOT NULL,
    amount_cents bigint       NOT NULL CHECK (amount_cents >= 0),
    currency     char(3)      NOT NULL,
    status       varchar(16)  NOT NULL CHECK (status IN ('CAPTURED', 'FAILED', 'REFUNDED')),
    reason       text         NOT NULL DEFAULT '',
    created_at   timestamptz  NOT NULL DEFAULT now(),
    updated_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX payments_customer_id_idx ON payments (customer_id);

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
