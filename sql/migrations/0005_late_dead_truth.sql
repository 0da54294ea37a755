-- Records that arrived after the windows/joins they belong to had fired (DESIGN §3).
CREATE TABLE IF NOT EXISTS ${database}.late_events
(
    topic           LowCardinality(String),
    partition       UInt32,
    offset          UInt64,
    ts              DateTime64(3, 'UTC'),
    watermark       DateTime64(3, 'UTC'),
    operator        LowCardinality(String),
    edge_server_id  LowCardinality(String),
    record_json     String
)
ENGINE = MergeTree
ORDER BY (operator, topic, partition, offset)
SETTINGS non_replicated_deduplication_window = 100000;

-- Records that could not be decoded or validated, with their raw bytes (base64).
CREATE TABLE IF NOT EXISTS ${database}.dead_letters
(
    topic           LowCardinality(String),
    partition       UInt32,
    offset          UInt64,
    key_b64         Nullable(String),
    raw_b64         String,
    error           String,
    path            String,
    consumer_group  LowCardinality(String),
    ts              DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (topic, partition, offset)
SETTINGS non_replicated_deduplication_window = 100000;

-- The simulator's ground truth: base latencies, the queueing law and its
-- parameters, and the true latency components of every simulated request.
CREATE TABLE IF NOT EXISTS ${database}.sim_ground_truth
(
    run_id          String,
    event_id        String,
    ts              DateTime64(3, 'UTC'),
    edge_server_id  LowCardinality(String),
    model_id        LowCardinality(String),
    chip            LowCardinality(String),
    law             String,
    params_json     String,
    base_compute_ms Float64,
    base_io_ms      Float64,
    true_queue_ms   Float64,
    true_io_ms      Float64,
    true_compute_ms Float64,
    server_util     Float64
)
ENGINE = MergeTree
ORDER BY (run_id, edge_server_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 100000;
