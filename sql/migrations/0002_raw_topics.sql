-- Raw copies of the telemetry topics, written by warehouse-sink.
-- Insert deduplication tokens make a replayed batch add no rows
-- (non_replicated_deduplication_window keeps the tokens of the last N blocks).
CREATE TABLE IF NOT EXISTS ${database}.inference_events
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
    src_partition   UInt32,
    src_offset      UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (edge_server_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE TABLE IF NOT EXISTS ${database}.load_samples
(
    edge_server_id  LowCardinality(String),
    ts              DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    cpu_util        Float64,
    gpu_util        Float64,
    mem_util        Float64,
    queue_depth     UInt32,
    concurrency     UInt32,
    requests_per_s  Float64,
    temperature_c   Nullable(Float64),
    power_w         Nullable(Float64),
    src_partition   UInt32,
    src_offset      UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (edge_server_id, ts)
SETTINGS non_replicated_deduplication_window = 100000;
