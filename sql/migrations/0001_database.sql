-- The edgelat database. `${database}` is replaced by the migrator with the
-- configured database name (default edgelat); it is validated as an identifier.
CREATE DATABASE IF NOT EXISTS ${database};
