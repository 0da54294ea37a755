-- Shadow deployments (issue 7): raw shadow results (edge.shadow.v1) and the
-- shadow-compare verdicts (analytics.shadow-verdicts.v1), written by warehouse-sink.
CREATE TABLE IF NOT EXISTS ${database}.shadow_results
(
    event_id        String,
    request_id      String,
    ts              DateTime64(3, 'UTC') CODEC(Delta, ZSTD),
    request_ts      DateTime64(3, 'UTC'),
    edge_server_id  LowCardinality(String),
    device_id       LowCardinality(String),
    model_id        LowCardinality(String),
    model_version   LowCardinality(String),
    chip            LowCardinality(String),
    runtime         LowCardinality(String),
    queue_ms        Float64,
    io_ms           Float64,
    compute_ms      Float64,
    total_ms        Float64,
    status          LowCardinality(String),
    deployment_id   Nullable(String),
    src_partition   UInt32,
    src_offset      UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (edge_server_id, ts, event_id)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE TABLE IF NOT EXISTS ${database}.shadow_verdicts
(
    edge_server_id      LowCardinality(String),
    model_id            LowCardinality(String),
    production_chip     LowCardinality(String),
    production_version  LowCardinality(String),
    shadow_chip         LowCardinality(String),
    shadow_version      LowCardinality(String),
    window_start        DateTime64(3, 'UTC'),
    window_end          DateTime64(3, 'UTC'),
    pairs               UInt64,
    unpaired_production UInt64,
    unpaired_shadow     UInt64,
    production_p50_ms   Nullable(Float64),
    production_p90_ms   Nullable(Float64),
    production_p99_ms   Nullable(Float64),
    shadow_p50_ms       Nullable(Float64),
    shadow_p90_ms       Nullable(Float64),
    shadow_p99_ms       Nullable(Float64),
    ratio               Nullable(Float64),
    ratio_ci_low        Nullable(Float64),
    ratio_ci_high       Nullable(Float64),
    confidence          Float64,
    wilcoxon_w_plus     Nullable(Float64),
    wilcoxon_p          Nullable(Float64),
    tolerance           Float64,
    verdict             LowCardinality(String),
    slo_p99_ms          Nullable(Float64),
    shadow_meets_slo    Nullable(Bool)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (edge_server_id, model_id, window_start, shadow_chip)
SETTINGS non_replicated_deduplication_window = 100000;
