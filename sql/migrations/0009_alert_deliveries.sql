-- Alert state changes delivered to the webhook (services/alerts/delivery-run.ts):
-- one row per change, written after the receiver acknowledged it (status
-- 'delivered') or refused it for good with a 4xx (status 'rejected'). It is the
-- delivery position: after a restart a change whose key is here is not sent
-- again, and the state of each (server, model, metric pair) before the
-- committed offset is read back from it.
CREATE TABLE IF NOT EXISTS ${database}.alert_deliveries
(
    idempotency_key String,
    log_id          String,
    topic           LowCardinality(String),
    partition       UInt32,
    offset          UInt64,
    edge_server_id  LowCardinality(String),
    model_id        String,
    x_metric        LowCardinality(String),
    y_metric        LowCardinality(String),
    window_end      DateTime64(3, 'UTC'),
    previous_state  LowCardinality(String),
    state           LowCardinality(String),
    status          LowCardinality(String),
    http_status     UInt16,
    attempts        UInt32,
    delivered_at    DateTime64(3, 'UTC'),
    payload         String
)
ENGINE = MergeTree
ORDER BY (log_id, topic, partition, offset, idempotency_key)
SETTINGS non_replicated_deduplication_window = 100000;
