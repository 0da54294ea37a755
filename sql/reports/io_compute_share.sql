-- Share of i/o wait and of compute in latency by load bucket, per chip and for
-- the fleet (chip = '*'): io_share = sum(io_ms) / (sum(io_ms) + sum(compute_ms))
-- over the bucket's rows (a ratio of sums, so it weighs requests by their time);
-- compute_share = 1 - io_share; NULL when the bucket has no time at all.
SELECT
    if(grouping(g_chip) = 1, '*', g_chip) AS chip,
    bucket,
    min(x) AS load_low,
    max(x) AS load_high,
    count() AS n,
    sum(io_ms) AS io_ms_sum,
    sum(compute_ms) AS compute_ms_sum,
    if(io_ms_sum + compute_ms_sum > 0, io_ms_sum / (io_ms_sum + compute_ms_sum), NULL) AS io_share,
    if(io_ms_sum + compute_ms_sum > 0, compute_ms_sum / (io_ms_sum + compute_ms_sum), NULL) AS compute_share
FROM (SELECT chip AS g_chip, bucket, x, io_ms, compute_ms FROM (${rows}))
GROUP BY GROUPING SETS ((g_chip, bucket), (bucket))
ORDER BY chip = '*' DESC, chip, bucket
