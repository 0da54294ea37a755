-- Least-squares line of total latency on load per chip, over all the report's
-- rows (not the sample): slope = covarSampStable / varSampStable (ms per unit
-- of load), intercept = mean(y) - slope * mean(x), and Pearson r (corrStable).
-- Chips with a constant load are left out.
SELECT chip, count() AS n,
       covarSampStable(x, total_ms) / varSampStable(x) AS slope_ms_per_unit,
       avg(total_ms) - slope_ms_per_unit * avg(x) AS intercept_ms,
       corrStable(x, total_ms) AS pearson_r,
       min(x) AS load_min, max(x) AS load_max
FROM (${rows})
GROUP BY chip
HAVING n >= 3 AND varSampStable(x) > 0
ORDER BY chip
