-- Latency model data (issue 4, DESIGN §5): imported benchmark latencies,
-- model profiles, the chip catalogue, and the registry of trained models.

-- One measured latency of a model on a device (benchmark tables: HELP, MLPerf).
-- percentile is a fraction 0..1 (0.9 = p90; 0.5 for HELP's single figure).
CREATE TABLE IF NOT EXISTS ${database}.benchmark_latency
(
    source          LowCardinality(String),
    model_id        String,
    device          LowCardinality(String),
    chip            LowCardinality(String),
    batch           UInt32,
    scenario        LowCardinality(String),
    percentile      Float64,
    latency_ms      Float64,
    system          String,
    imported_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(imported_at)
ORDER BY (source, device, model_id, batch, scenario, percentile, system);

-- Model features (HELP: op on each cell edge and op counts; ONNX profiles:
-- params, FLOPs, op mix, bytes) as a JSON object of name → value.
CREATE TABLE IF NOT EXISTS ${database}.model_profiles
(
    source          LowCardinality(String),
    model_id        String,
    features_json   String,
    imported_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(imported_at)
ORDER BY (source, model_id);

-- Chip catalogue: one normalised id per chip (names as submitted map onto it).
CREATE TABLE IF NOT EXISTS ${database}.chips
(
    chip                String,
    kind                LowCardinality(String),
    vendor              LowCardinality(String),
    names               Array(String),
    peak_ops_per_s      Nullable(Float64),
    memory_bw_bytes_s   Nullable(Float64),
    power_w             Nullable(Float64),
    price_per_hour      Nullable(Float64),
    updated_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY chip;

-- Registry of trained latency models. status: champion | challenger | retired.
-- metrics_json holds the holdout metrics (MAPE, acc10, RMSE of log latency,
-- p99 coverage); a row is re-inserted with a later updated_at when its status
-- changes (ReplacingMergeTree keeps the newest).
CREATE TABLE IF NOT EXISTS ${database}.latency_models
(
    version         String,
    kind            LowCardinality(String),
    trained_at      DateTime64(3, 'UTC'),
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
    holdout_start   DateTime64(3, 'UTC'),
    rows_train      UInt64,
    rows_holdout    UInt64,
    metrics_json    String,
    holdout_loss    Float64,
    file_path       String,
    file_sha256     FixedString(64),
    status          LowCardinality(String),
    reason          String,
    updated_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (kind, version);
