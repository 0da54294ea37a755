-- The most load-sensitive (server, model) pairs: Pearson r of load and total
-- latency over the report's rows (corrStable), the least-squares slope
-- (covarSampStable / varSampStable, ms per unit of load) and the slope
-- relative to the mean latency. Pairs with fewer than min_rows rows or a constant
-- load or latency are left out (r undefined). Ordered by |r|, strongest first
-- (a strong negative correlation is as load-sensitive as a positive one), to 10
-- decimals: pairs of equal r (the same rows) then by server and model, not by
-- the last bits of a parallel sum, which vary from run to run (a trial).
-- Load and latency are centred on the pair's means first (dx, dy), as in
-- least_squares.sql: raw values with a large offset lost digits of r.
-- Parameters: those of _rows.sql, limit UInt32 and min_rows UInt32 (SENSITIVE_MIN_REQUESTS).
SELECT
    edge_server_id,
    model_id,
    any(chip) AS chip,
    count() AS n,
    corrStable(dx, dy) AS pearson_r,
    covarSampStable(dx, dy) / varSampStable(dx) AS slope_ms_per_unit,
    slope_ms_per_unit / avg(total_ms) AS relative_slope,
    avg(total_ms) AS mean_ms
FROM (
    SELECT edge_server_id, model_id, chip, total_ms,
           x - avg(x) OVER (PARTITION BY edge_server_id, model_id) AS dx,
           total_ms - avg(total_ms) OVER (PARTITION BY edge_server_id, model_id) AS dy
    FROM (${rows})
)
GROUP BY edge_server_id, model_id
HAVING n >= {min_rows:UInt32} AND varSampStable(dx) > 0 AND varSampStable(dy) > 0
ORDER BY round(abs(pearson_r), 10) DESC, edge_server_id, model_id
LIMIT {limit:UInt32}
