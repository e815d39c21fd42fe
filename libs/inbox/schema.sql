-- Inbox table: one row per (consumer group, event id) the group has handled.
-- Copy into a service migration; do not edit an applied migration.
CREATE TABLE inbox (
    consumer_group  varchar(255) NOT NULL,
    event_id        uuid         NOT NULL,
    kafka_topic     varchar(255) NOT NULL,
    kafka_partition integer      NOT NULL,
    kafka_offset    bigint       NOT NULL,
    event_type      varchar(255) NOT NULL,
    outcome         varchar(16)  NOT NULL CHECK (outcome IN ('processed', 'dead_lettered')),
    received_at     timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

-- Supports pruning rows older than the longest redelivery window.
CREATE INDEX inbox_received_at_idx ON inbox (received_at);
