/**
 * The warehouse interface shared by chdb (embedded, chdb.ts) and, in a later
 * issue, ClickHouse server (clickhouse.ts). Same SQL files on both.
 */

/** A value bound to a `{name:Type}` query parameter. */
export type QueryParam = string | number | bigint | boolean | null | readonly (string | number | bigint)[];

/** Options of one insert. */
export interface InsertOptions {
  /**
   * ClickHouse `insert_deduplication_token`: a retried or replayed insert
   * carrying the same token (same table) adds no rows. Build it from input
   * positions that are the same after a restart (topic/partition/offset range).
   */
  dedupToken?: string;
}

/** A ClickHouse warehouse. Every query takes bound parameters only. */
export interface Warehouse {
  /** Database that holds the edgelat tables (default `edgelat`). */
  readonly database: string;
  /** Apply `sql/migrations/NNNN_*.sql` not yet applied, in order; returns the names applied now. Idempotent. */
  migrate(): Promise<string[]>;
  /**
   * Insert rows (objects keyed by column name) as one block.
   * Timestamps must already be ClickHouse text (`msToDateTime64`); bigint is written exactly.
   * @throws {WarehouseError} on failure; `retriable` tells whether retrying may help.
   */
  insert(table: string, rows: readonly Record<string, unknown>[], options?: InsertOptions): Promise<void>;
  /**
   * Run a query and parse JSONEachRow rows. Integers beyond 2^53 come back as
   * bigint, never rounded (case C13).
   */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, QueryParam>): Promise<T[]>;
  /** Run a query and return its text in a ClickHouse output `format` (CSVWithNames, PrettyCompact, JSON...). */
  queryText(sql: string, params?: Record<string, QueryParam>, format?: string): Promise<string>;
  /**
   * Run a read and hand its text in `format` to `onChunk` as it comes, chunk by chunk (awaited: backpressure), so
   * that a large or endless result is never held whole (`edgelat sql`; a trial's `SELECT * FROM system.numbers`
   * grew to 24 GB before the kernel killed it). Concatenated, the chunks are `queryText`'s answer.
   * @param options.cancellable  A read the caller may stop with the warehouse's `cancelRunning` (a server's; `edgelat
   *                 sql` on Ctrl-C): its text then carries a marker comment. Reads only: an INSERT's inline data would
   *                 take the comment in. @default false
   * @throws {WarehouseError} on failure, possibly after some chunks.
   */
  streamText(sql: string, params: Record<string, QueryParam>, format: string, onChunk: (chunk: Uint8Array) => Promise<void> | void, options?: { cancellable?: boolean }): Promise<void>;
  /** Run a statement that returns nothing (DDL, INSERT ... SELECT). */
  exec(sql: string, params?: Record<string, QueryParam>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Format epoch milliseconds as ClickHouse DateTime64(3) text, UTC
 * (`'YYYY-MM-DD hh:mm:ss.sss'`).
 * @throws {RangeError} if `ms` is not a finite number.
 */
export function msToDateTime64(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`ts: expected epoch milliseconds, got ${JSON.stringify(ms)}`);
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * Parse ClickHouse DateTime64(3) text (UTC) back to epoch milliseconds.
 * @throws {RangeError} if the text is not a timestamp.
 */
export function dateTime64ToMs(text: string): number {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new RangeError(`expected a DateTime64 text like '2024-06-01 10:00:00.000', got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The first line of a ClickHouse exception, with the nesting chdb adds undone: an exception rethrown
 * through its layers reads `Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format X. (UNKNOWN_FORMAT)
 * (version 26.7.2.1). (UNKNOWN_FORMAT)`; this gives `Code: 73. DB::Exception: Unknown format X. (UNKNOWN_FORMAT)`.
 * Other text is returned as its first line.
 */
export function exceptionFirstLine(message: string): string {
  const first = message.split('\n')[0]!;
  const head = /^(Code: (\d+)\. DB::Exception: )(?:Code: \2\. DB::Exception: )+/.exec(first);
  if (!head) return first;
  const body = first.slice(head[0].length).replace(/ \(version [\d.]+\)/g, '');
  return `${head[1]}${body.replace(/(\. \(([A-Z_]+)\))(?:\. \(\2\))+$/, '$1')}`;
}
