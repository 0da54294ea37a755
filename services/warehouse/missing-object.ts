/** Naming what a warehouse error says is missing, for answers that must not carry the statement (the API's). */
import { WarehouseError } from '../../errors.ts';

/**
 * What a warehouse error says is missing (ClickHouse codes 60 UNKNOWN_TABLE, 81 UNKNOWN_DATABASE, 47 UNKNOWN_IDENTIFIER
 * and 16 NO_SUCH_COLUMN_IN_TABLE: a column), as a problem's
 * detail without the statement (which the log keeps); null for any other error. A trial: after a table was dropped by
 * hand, every route that read it answered a bare 500, where the CLI names the table and `edgelat migrate`.
 */
export function missingObject(error: unknown): string | null {
  if (error instanceof WarehouseError && (error.code === 47 || error.code === 16)) {
    // A column of an edgelat table dropped by hand: every read of it fails, code 47 (16 for an insert naming it).
    const column = /Unknown expression (?:or function )?identifier `([^`]+)`|Identifier '([^']+)' cannot be resolved|No such column (\S+) in table/.exec(error.message);
    const name = column ? (column[1] ?? column[2] ?? column[3])! : null;
    return `the warehouse's tables lack ${name === null ? 'a column' : `column ${name}`}, which edgelat reads (dropped by hand?): run \`edgelat migrate\`, which adds the edgelat tables' columns back (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)`;
  }
  if (!(error instanceof WarehouseError) || (error.code !== 60 && error.code !== 81)) return null;
  const table = /Unknown table expression identifier '([^']+)'|Table (\S+) does not exist/.exec(error.message);
  const database = /Database (\S+) does not exist/.exec(error.message);
  const name = table ? (table[1] ?? table[2])! : null;
  const what = name !== null ? `table ${name}` : database ? `database ${database[1]}` : 'a table';
  return `the warehouse has no ${what} (dropped, or never created): run \`edgelat migrate\` to create the tables again, then ${fillOf(name)} (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)`;
}

/**
 * The command that fills a table again after `edgelat migrate` made it anew (a trial: a dropped chip catalog was told
 * "the pipeline or the demo", where `chips import` fills it).
 * @param table  The table's name, `db.table` or `table`; null when the error names none.
 */
function fillOf(table: string | null): string {
  const bare = table?.split('.').at(-1)?.replaceAll('`', '') ?? '';
  if (bare === 'chips') return '`edgelat chips import data/chips/edge-chips.csv` (or the demo) to fill it';
  if (bare === 'benchmark_latency' || bare === 'model_profiles') return '`edgelat import benchmark` (or the demo) to fill it';
  if (bare === 'latency_models' || bare === 'latency_model_files') return '`edgelat model train` (or the demo) to fill it';
  return 'the pipeline or the demo to fill them';
}

/**
 * ClickHouse codes of a warehouse that cannot read or write its own files: CANNOT_READ_FROM_FILE_DESCRIPTOR (74),
 * CANNOT_WRITE_TO_FILE_DESCRIPTOR (75), CANNOT_OPEN_FILE (76), FILE_DOESNT_EXIST (107), NOT_ENOUGH_SPACE (243)
 * (ClickHouse src/Common/ErrorCodes.cpp).
 */
const WAREHOUSE_FILE_CODES = new Set([74, 75, 76, 107, 243]);

/** Whether an error is the warehouse failing on its own files (a permission, a file gone, a full disk): the server's state, a 503, not a bug. */
export function warehouseFilesUnreadable(error: unknown): boolean {
  if (!(error instanceof WarehouseError)) return false;
  const code = error.code ?? Number(/\bCode: (\d+)\./.exec(error.message)?.[1] ?? NaN);
  return WAREHOUSE_FILE_CODES.has(code) || /\bPermission denied\b/.test(error.message);
}

/** What a server answers (and /healthz says) where {@link warehouseFilesUnreadable}; the paths stay in its log. */
export const UNREADABLE_FILES = 'the warehouse cannot read or write its own files (the server\'s log names the file and why): check the data folder\'s permissions for the user serve runs as, and the disk\'s free space';
