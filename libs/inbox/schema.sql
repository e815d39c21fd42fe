-- Inbox table: one row per (consumer group, event id) the group has handled.
-- Copy into a service migration; do not edit an applied migration.
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
