-- Decile edges of the chosen load metric over the report's rows (nearest rank:
-- the value at rank ceil(k/10 * N) of the ascending list, k = 1..9), without
-- repeats (see _rows.sql for how they make buckets); none when no row matches.
-- Also the row count and the smallest and largest load (NULL without rows).
SELECT if(length(s) = 0, CAST([] AS Array(Float64)), arrayDistinct(arrayMap(k -> s[intDiv(k * length(s) + 9, 10)], range(1, 10)))) AS edges,
       length(s) AS n,
       if(length(s) = 0, NULL, s[1]) AS lo,
       if(length(s) = 0, NULL, s[-1]) AS hi
FROM (SELECT arraySort(groupArray(x)) AS s FROM (${rows}))
