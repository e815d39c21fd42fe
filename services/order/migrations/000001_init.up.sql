-- Orders, their lines and history, idempotency keys, and the outbox and
-- inbox tables the order service writes through.

CREATE TABLE orders (
    id                  uuid         PRIMARY KEY,
    customer_id         varchar(100) NOT NULL,
    currency            char(3)      NOT NULL,
    total_cents         bigint       NOT NULL CHECK (total_cents >= 0),
    status              varchar(16)  NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
    payment_captured    boolean      NOT NULL DEFAULT false,
    inventory_reserved  boolean      NOT NULL DEFAULT false,
    cancellation_reason text,
    created_at          timestamptz  NOT NULL,
    updated_at          timestamptz  NOT NULL,
    version             integer      NOT NULL CHECK (version >= 1)
);

-- GET /orders lists newest first, optionally by customer and status.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC);

CREATE TABLE order_items (
    order_id         uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line             integer     NOT NULL CHECK (line >= 1),
    sku              varchar(64) NOT NULL,
    quantity         integer     NOT NULL CHECK (quantity >= 1),
    unit_price_cents bigint      NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line)
);

CREATE TABLE order_history (
    order_id    uuid         NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq         integer      NOT NULL CHECK (seq >= 1),
    status      varchar(16)  NOT NULL,
    event_type  varchar(255) NOT NULL,
    event_id    uuid         NOT NULL,
    occurred_at timestamptz  NOT NULL,
    PRIMARY KEY (order_id, seq),
    -- One event changes an order at most once.
    UNIQUE (order_id, event_id)
);

-- An Idempotency-Key names the order its first request created. The
-- foreign key is checked at commit, so the key can be claimed first in the
-- transaction that inserts the order: a concurrent duplicate then waits on
-- the key's primary key instead of doing the work twice.
CREATE TABLE idempotency_keys (
    key          varchar(255) PRIMARY KEY,
    request_hash char(64)     NOT NULL,
    order_id     uuid         NOT NULL REFERENCES orders (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Outbox table in the shape of Debezium's Outbox Event Router defaults.
CREATE TABLE outbox (
    id            uuid         PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid   varchar(255) NOT NULL,
    type          varchar(255) NOT NULL,
    payload       jsonb        NOT NULL,
    occurred_at   timestamp    NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    traceparent   varchar(55)
);

-- Inbox table: one row per (consumer group, event id) the group has handled.
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

CREATE INDEX inbox_received_at_idx ON inbox (received_at);

-- Created here, by the table's owner, so the capture role needs only SELECT.
CREATE PUBLICATION outbox_publication FOR TABLE outbox;

DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdc') THEN GRANT SELECT ON outbox TO cdc; END IF; END $$;
