-- Closed sliding windows of load-versus-latency correlation (rolling-correlation).
-- Every statistic is NULL (with null_reason) when undefined: never NaN, ±Inf or 0.
CREATE TABLE IF NOT EXISTS ${database}.load_latency_correlations
(
    scope           LowCardinality(String),
    edge_server_id  LowCardinality(String),
    model_id        Nullable(String),
    chip            Nullable(String),
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
    x_metric        LowCardinality(String),
    y_metric        LowCardinality(String),
    n               UInt32,
    pearson_r       Nullable(Float64),
    ci_low          Nullable(Float64),
    ci_high         Nullable(Float64),
    slope           Nullable(Float64),
    intercept       Nullable(Float64),
    p_value         Nullable(Float64),
    null_reason     Nullable(String),
    alert_state     LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (edge_server_id, x_metric, y_metric, window_start)
SETTINGS non_replicated_deduplication_window = 100000, allow_nullable_key = 1;
