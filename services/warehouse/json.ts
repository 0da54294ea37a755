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
