-- Latency percentiles and count by load bucket, per (chip, model) and for the
-- whole fleet (chip = model_id = '*'), from the rows themselves: a fleet
-- percentile is never an average of per-chip or per-server ones (case C18).
-- Percentiles are exact, nearest rank: the value at rank ceil(p * N) of the
-- ascending list (rank = intDiv(p% * N + 99, 100), integer arithmetic).
-- Every status counts (a timeout at the time until it timed out); `failed`
-- counts the requests whose status is not ok.
SELECT * EXCEPT (s) FROM (
SELECT
    if(grouping(g_chip) = 1, '*', g_chip) AS chip,
    if(grouping(g_model) = 1, '*', g_model) AS model_id,
    bucket,
    min(x) AS load_low,
    max(x) AS load_high,
    count() AS n,
    arraySort(groupArray(total_ms)) AS s,
    s[intDiv(50 * n + 99, 100)] AS p50_ms,
    s[intDiv(90 * n + 99, 100)] AS p90_ms,
    s[intDiv(99 * n + 99, 100)] AS p99_ms,
    avg(total_ms) AS mean_ms,
    countIf(status != 'ok') AS failed
FROM (SELECT chip AS g_chip, model_id AS g_model, bucket, x, total_ms, status FROM (${rows}))
GROUP BY GROUPING SETS ((g_chip, g_model, bucket), (bucket))
)
ORDER BY chip = '*' DESC, chip, model_id, bucket
