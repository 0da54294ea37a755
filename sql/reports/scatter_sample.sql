-- A deterministic sample of (load, total latency) points for the scatter
-- chart: rows whose event_id hashes into the first `per_mille` thousandths,
-- at most `limit`. Parameters: those of _rows.sql, per_mille UInt32, limit UInt32.
SELECT chip, x, total_ms
FROM (${rows})
WHERE cityHash64(event_id) % 1000 < {per_mille:UInt32}
ORDER BY cityHash64(event_id)
LIMIT {limit:UInt32}
