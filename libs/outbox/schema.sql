-- Outbox table in the shape of Debezium's Outbox Event Router defaults.
-- Copy into a service migration; do not edit an applied migration.
CREATE TABLE outbox (
    id            uuid         PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid   varchar(255) NOT NULL,
    type          varchar(255) NOT NULL,
    payload       jsonb        NOT NULL,
    occurred_at   timestamp    NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    traceparent   varchar(55)
);
