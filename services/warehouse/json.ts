import { isInteger, isSafeNumber, parse, stringify } from 'lossless-json';

/**
 * Whether a value to store holds a bigint (written as exact digits by the lossless writer), at any depth: an
 * Array(UInt64) of bigints made JSON.stringify throw "Do not know how to serialize a BigInt".
 * @throws {RangeError} naming the column (and the element's path) for a NaN or ±Infinity at any depth: inside an
 *   array JSON.stringify wrote it as null, which ClickHouse stored as 0 in an Array(Float64).
 */
function needsExact(column: string, value: unknown, path = ''): boolean {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${column}${path}: ${String(value)} cannot be stored; write null for an undefined value`);
    return false;
  }
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object') return false;
  let exact = false;
  if (Array.isArray(value)) value.forEach((v, i) => { if (needsExact(column, v, `${path}[${i}]`)) exact = true; });
  else for (const [k, v] of Object.entries(value)) if (needsExact(column, v, `${path}.${k}`)) exact = true;
  return exact;
}

/**
 * Serialise one row for JSONEachRow: bigint is written as exact digits, and a
 * non-finite number is refused (JSON has no NaN/Infinity, and ClickHouse would
 * reject the row or store a stand-in 0: case C20). Use null for undefined values.
 * @throws {RangeError} naming the column when a value is NaN or ±Infinity.
 */
export function rowToJson(row: Record<string, unknown>): string {
  let exact = false;
  for (const column in row) if (needsExact(column, row[column])) exact = true;
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
      if (needsExact(columns[c]!, value)) exact = true;
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
 * The format {@link parseTypedRows} reads: a row of column names, a row of their ClickHouse types, then one JSON array
 * per row.
 */
export const TYPED_ROWS_FORMAT = 'JSONCompactEachRowWithNamesAndTypes';

/** A ClickHouse type without its Nullable / LowCardinality wrappers. */
function baseType(type: string): string {
  let t = type.trim();
  for (let m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(t); m; m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(t)) t = m[1]!.trim();
  return t;
}

/** The value with every bigint replaced by the nearest double (as `Number(token)` reads the token it came from). */
function asDoubles(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(asDoubles);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDoubles(v)]));
  return value;
}

/**
 * Parse {@link TYPED_ROWS_FORMAT} text into rows keyed by column name, with the column types deciding how numbers
 * read: integers beyond 2^53 of a 64-bit-or-wider integer type exact as bigint (case C13), a type holding no such
 * integer (Float64, Decimal, Array(Float64)…) as number. Type-blind, a Float64 of 2^64 printed as
 * `18446744073709552000` read as that bigint, which is not the stored value (18446744073709551616), and a bigint in
 * arithmetic with numbers throws. Inside a type that mixes both (Tuple(UInt64, Float64)) integer tokens beyond 2^53
 * stay bigint.
 * @throws {SyntaxError} if a line is not JSON, or the names and types rows are missing.
 */
export function parseTypedRows<T>(text: string): T[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return [];
  if (lines.length < 2) throw new SyntaxError(`expected the names and types rows of ${TYPED_ROWS_FORMAT}, got ${JSON.stringify(text.slice(0, 200))}`);
  const names = JSON.parse(lines[0]!) as string[];
  const types = (JSON.parse(lines[1]!) as string[]).map(baseType);
  // Per column: true where numbers are doubles whatever their digits (no 64-bit-or-wider integer anywhere in the type).
  const doubles = types.map((t) => !/\b(?:U?Int(?:64|128|256)|Dynamic|Variant|JSON|Object)\b/.test(t));
  const rows: T[] = [];
  for (let i = 2; i < lines.length; i++) {
    const values = parse(lines[i]!, undefined, parseNumber) as unknown[];
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = doubles[c] ? asDoubles(values[c]) : values[c];
    rows.push(row as T);
  }
  return rows;
}
