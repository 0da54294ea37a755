-- Per-minute roll-up of latency by server/model/chip/status: count, t-digest quantile
-- states and average load. Query with countMerge / quantilesTDigestMerge / avgMerge;
-- quantiles from it are approximate (t-digest), label them so.
CREATE TABLE IF NOT EXISTS ${database}.latency_1m
(
    minute          DateTime('UTC'),
    edge_server_id  LowCardinality(String),
    model_id        LowCardinality(String),
    chip            LowCardinality(String),
    status          LowCardinality(String),
    requests        AggregateFunction(count),
    total_ms_q      AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64),
    io_ms_q         AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64),
    compute_ms_q    AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64),
    avg_gpu_util    AggregateFunction(avg, Nullable(Float64)),
    avg_cpu_util    AggregateFunction(avg, Nullable(Float64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (edge_server_id, model_id, chip, status, minute);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.latency_1m_mv TO ${database}.latency_1m AS
SELECT
    toStartOfMinute(ts) AS minute,
    edge_server_id,
    model_id,
    chip,
    status,
    countState() AS requests,
    quantilesTDigestState(0.5, 0.9, 0.99)(total_ms) AS total_ms_q,
    quantilesTDigestState(0.5, 0.9, 0.99)(io_ms) AS io_ms_q,
    quantilesTDigestState(0.5, 0.9, 0.99)(compute_ms) AS compute_ms_q,
    avgState(gpu_util) AS avg_gpu_util,
    avgState(cpu_util) AS avg_cpu_util
FROM ${database}.inference_enriched
GROUP BY minute, edge_server_id, model_id, chip, status;
