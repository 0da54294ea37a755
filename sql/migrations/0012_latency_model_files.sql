-- The bytes of every registered latency model's file, by SHA-256 (content-addressed), base64: the warehouse holds the
-- registry whole, and a model file on disk is one data folder's copy of it. A command whose folder lacks the file, or
-- holds another, writes it from here: another folder or host sharing a ClickHouse server, a copied folder whose source
-- moved (a trial: serve's registry named a file in the folder a model had been trained from, then deleted).
CREATE TABLE IF NOT EXISTS ${database}.latency_model_files
(
    file_sha256   FixedString(64),
    bytes_base64  String,
    saved_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
-- One row per distinct content of a digest: a copy written by hand that is not the file's bytes does not replace the
-- one that is (readers take a row whose bytes hash to the digest); the same bytes stored again collapse on merge.
ENGINE = ReplacingMergeTree(saved_at)
ORDER BY (file_sha256, sipHash64(bytes_base64));
