-- Rolling correlation of the load metric with total latency over time (the
-- correlation processor's closed windows), with its 95 % CI (Fisher z) and the
-- alert state. Only the keys named in `keys` ("server\tmodel") when it is not
-- empty. The closing window of a key that went quiet (n 0, null_reason no_rows: an alert's end, no correlation) is
-- left out. Parameters: since, until (window_end), server, model, chip, metric (as a string), keys Array(String).
SELECT edge_server_id, model_id, chip, window_end, n, pearson_r, ci_low, ci_high, alert_state
FROM ${database}.load_latency_correlations
WHERE window_end > {since:DateTime64(3, 'UTC')} AND window_end <= {until:DateTime64(3, 'UTC')}
  AND scope = 'server×model' AND x_metric = {metric_name:String} AND y_metric = 'total_ms' AND n > 0
  AND ({server:String} = '' OR edge_server_id = {server:String})
  AND ({model:String} = '' OR model_id = {model:String})
  AND ({chip:String} = '' OR chip = {chip:String})
  AND (empty({keys:Array(String)}) OR has({keys:Array(String)}, concat(edge_server_id, '\t', ifNull(model_id, ''))))
ORDER BY edge_server_id, model_id, window_end
