import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * Serialise one row for JSONEachRow: bigint is written as exact digits, and a
 * non-finite number is refused (JSON has no NaN/Infinity, and ClickHouse would
 * reject the row or store a stand-in 0: case C20). Use null for undefined values.
 * @throws {RangeError} naming the column when a value is NaN or ±Infinity.
 */
export function rowToJson(row: Record<string, unknown>): string {
  let exact = false;
  for (const column in row) {
    const value = row[column];
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new RangeError(`${column}: ${String(value)} cannot be stored; write null for an undefined value`);
    } else if (typeof value === 'bigint') exact = true;
  }
  // JSON.stringify is exact for every finite number; only bigint needs the lossless writer.
  return exact ? (stringify(row) ?? '{}') : JSON.stringify(row);
}

/** One block serialised for JSONCompactEachRow. */
export interface CompactRows {
  /** Column names shared by every row, in the key order of the first row. */
  columns: string[];
  /** One JSON array per row (values in `columns` order), without the trailing newline. */
  lines: string[];
}

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Serialise a block for JSONCompactEachRow (`INSERT INTO t (columns) FORMAT
 * JSONCompactEachRow`): column names once, then one JSON array of values per
 * row, with the same value rules as {@link rowToJson} (bigint as exact digits,
 * non-finite numbers refused). About half the bytes of JSONEachRow for the
 * edgelat tables, which the engine parses faster.
 *
 * Behaviour: returns null, and the caller keeps JSONEachRow, when the rows do
 * not all have the same keys, a key is not a plain identifier, or a value is
 * `undefined`: JSONEachRow gives a missing key the column default, which a
 * positional format cannot express.
 * @param rows  The block; every row keyed by column name.
 * @returns     Columns and lines, or null as described.
 * @throws {RangeError} naming the column when a value is NaN or ±Infinity.
 * @see rowToJson
 * @example see test/unit/services/warehouse/json.test.ts
 */
export function rowsToJsonCompact(rows: readonly Record<string, unknown>[]): CompactRows | null {
  if (rows.length === 0) return { columns: [], lines: [] };
  const columns = Object.keys(rows[0]!);
  if (columns.length === 0 || !columns.every((c) => PLAIN_IDENTIFIER.test(c))) return null;
  const width = columns.length;
  const values: unknown[] = new Array(width);
  const lines: string[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (Object.keys(row).length !== width) return null;
    let exact = false;
    for (let c = 0; c < width; c++) {
      const value = row[columns[c]!];
      if (value === undefined) return null; // missing key (same count, other names) or an undefined value
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) throw new RangeError(`${columns[c]!}: ${String(value)} cannot be stored; write null for an undefined value`);
      } else if (typeof value === 'bigint') exact = true;
      values[c] = value;
    }
    lines[r] = exact ? (stringify(values) ?? '[]') : JSON.stringify(values);
  }
  return { columns, lines };
}

/** Parse a JSON number token: safe numbers as number, big integers as bigint (exact). */
function parseNumber(token: string): number | bigint {
  if (isInteger(token) && !isSafeNumber(token)) return BigInt(token);
  return Number(token);
}

/**
 * Parse JSONEachRow text into rows, keeping integers beyond 2^53 exact as bigint (case C13).
 * @throws {SyntaxError} if a line is not JSON.
 */
export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    rows.push(parse(line, undefined, parseNumber) as T);
  }
  return rows;
}
