-- Shadow verdicts count the paired requests that failed on either side (error, time-out) apart:
-- they are left out of the latency statistics (issue 7; pipelines/shadow-compare.ts).
ALTER TABLE ${database}.shadow_verdicts ADD COLUMN IF NOT EXISTS failed_pairs UInt64 DEFAULT 0 AFTER unpaired_shadow;
