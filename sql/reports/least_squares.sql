-- Least-squares line of total latency on load per chip, over all the report's
-- rows (not the sample): slope = covarSampStable / varSampStable (ms per unit
-- of load), intercept = mean(y) - slope * mean(x), and Pearson r (corrStable).
-- Chips with a constant load are left out.
-- Load and latency are centred on their chip's means first (dx, dy): on raw
-- values with a large offset and a small spread (a byte counter near 2^32, a
-- rate near 1e9) the sums lost digits, r by 2e-9 to 1e-5 relative (a trial);
-- x - mean(x) is exact there (Sterbenz: within a factor 2 of each other). The line's value at
-- load_min, mean(y) + slope * (min(dx) - mean(dx)), is of small terms only: drawn as that
-- + slope * (x - load_min), as the report does, the line keeps its digits where
-- intercept + slope * x cancels (a re-test: 70 ms off on rates near 1e9).
SELECT chip, count() AS n,
       covarSampStable(dx, dy) / varSampStable(dx) AS slope_ms_per_unit,
       avg(total_ms) - slope_ms_per_unit * avg(x) AS intercept_ms,
       corrStable(dx, dy) AS pearson_r,
       min(x) AS load_min, max(x) AS load_max,
       avg(total_ms) + slope_ms_per_unit * (min(dx) - avg(dx)) AS latency_at_load_min_ms
FROM (
    SELECT chip, x, total_ms,
           x - avg(x) OVER (PARTITION BY chip) AS dx,
           total_ms - avg(total_ms) OVER (PARTITION BY chip) AS dy
    FROM (${rows})
)
GROUP BY chip
HAVING n >= 3 AND varSampStable(dx) > 0
ORDER BY chip
