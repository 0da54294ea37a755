-- The rows every load-latency report query reads (substituted for ${rows}):
-- requests with a load sample in the time range and filters, their load `x`
-- (the chosen metric as Float64) and its `bucket`.
-- Bucket: with width > 0, fixed bins [k·width, (k+1)·width) whose edges are
-- the decimals k·width as written (width = width_m·10^width_e, both integers):
-- floor(x / width), except within 1e-6 of a whole quotient (or 1e-12 of it,
-- relative, where the quotient's ulps are coarser: above ~8.6e9), where x is
-- compared with the edge itself, the double nearest k·width_m·10^width_e (so
-- 0.3 / 0.1 = 2.9999999999999996 is bin 3, as 0.3 is the edge, and
-- 0.29999999996 bin 2; rounding the quotient to 9 decimals had put it in 3);
-- else the number of decile edges below x (load_bucket_edges.sql), so bucket
-- b holds loads in (edge[b], edge[b+1]] and equal loads share a bucket.
-- Every request counts, whatever its status (a timeout's total_ms is the time
-- until it timed out); `status` is kept so the report can say how many failed. Rows without a load sample (matched = 0) are left out.
-- Parameters: since, until (DateTime64(3) UTC), server, model, chip ('' = all),
-- metric (a load column), edges Array(Float64), width Float64, width_m Int128, width_e Int32.
SELECT event_id, edge_server_id, model_id, chip, total_ms, io_ms, compute_ms, status,
       toFloat64({metric:Identifier}) AS x,
       toInt64(if({width:Float64} > 0,
                  if(abs(x / {width:Float64} - round(x / {width:Float64})) <= greatest(1e-6, abs(x / {width:Float64}) * 1e-12),
                     round(x / {width:Float64}) - (x < toFloat64(concat(toString(toInt128(round(x / {width:Float64})) * {width_m:Int128}), 'e', toString({width_e:Int32})))),
                     floor(x / {width:Float64})),
                  arrayCount(e -> e < x, {edges:Array(Float64)}))) AS bucket
FROM ${database}.inference_enriched
WHERE ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({server:String} = '' OR edge_server_id = {server:String})
  AND ({model:String} = '' OR model_id = {model:String})
  AND ({chip:String} = '' OR chip = {chip:String})
  AND matched AND {metric:Identifier} IS NOT NULL
