-- Inference events joined to the load sample in force at their ts (join-load-latency).
-- Load fields are NULL when no sample lies within the join tolerance (matched = 0).
CREATE TABLE IF NOT EXISTS ${database}.inference_enriched
(
    event_id        String,
    request_id      String,
    ts              DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    edge_server_id  LowCardinality(String),
    device_id       LowCardinality(String),
    model_id        LowCardinality(String),
    model_version   LowCardinality(String),
    chip            LowCardinality(String),
    runtime         LowCardinality(String),
    batch_size      UInt32,
    input_bytes     UInt64,
    queue_ms        Float64,
    io_ms           Float64,
    compute_ms      Float64,
    total_ms        Float64,
    status          LowCardinality(String),
    deployment_id   Nullable(String),
    role            LowCardinality(String),
    matched         Bool,
    load_ts         Nullable(DateTime64(3, 'UTC')),
    load_age_ms     Nullable(Float64),
    cpu_util        Nullable(Float64),
    gpu_util        Nullable(Float64),
    mem_util        Nullable(Float64),
    queue_depth     Nullable(UInt32),
    concurrency     Nullable(UInt32),
    requests_per_s  Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (edge_server_id, model_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 100000;
