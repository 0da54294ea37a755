-- A retried or replayed insert into inference_enriched is dropped by its deduplication
-- token; the materialized view's block must be dropped too, or latency_1m counts it
-- again (deduplicate_blocks_in_dependent_materialized_views needs a deduplication
-- window on the view's target table, as on every sink table).
ALTER TABLE ${database}.latency_1m MODIFY SETTING non_replicated_deduplication_window = 100000;
