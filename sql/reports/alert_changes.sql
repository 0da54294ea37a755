-- Alert state changes from the correlation table: every window whose alert
-- state differs from the previous window's of the same (server, model, x
-- metric, y metric); before a pair's first window the state is 'none'. Alerts
-- follow the server×model scope (windows of other EDGELAT_CORRELATION_SCOPES
-- carry an alert_state, but post no change).
-- With limit > 0, the newest `limit` changes (still printed oldest first).
-- Parameters: since (DateTime64(3) UTC, window_end >= since), firing_only UInt8, limit UInt64 (0 = all).
SELECT * FROM (
SELECT edge_server_id, model_id, chip, x_metric, y_metric, window_start, window_end,
       prev AS previous_state, alert_state AS state, n, pearson_r, ci_low, ci_high, p_value, slope, null_reason
FROM
(
    SELECT *, lagInFrame(alert_state, 1, 'none') OVER (
               PARTITION BY edge_server_id, model_id, x_metric, y_metric ORDER BY window_end
               ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev
    FROM ${database}.load_latency_correlations
    WHERE scope = 'server×model'
)
WHERE alert_state != prev AND window_end >= {since:DateTime64(3, 'UTC')}
  AND (NOT {firing_only:UInt8} OR alert_state = 'firing')
ORDER BY window_end DESC, edge_server_id DESC, model_id DESC, x_metric DESC, y_metric DESC
LIMIT if({limit:UInt64} = 0, 18446744073709551615, {limit:UInt64})
)
ORDER BY window_end, edge_server_id, model_id, x_metric, y_metric
