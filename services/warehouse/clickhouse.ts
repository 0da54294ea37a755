import { createClient, type ClickHouseClient, ClickHouseLogLevel } from '@clickhouse/client';
import { WarehouseError } from '../../errors.ts';
import { applyMigrations, assertIdentifier, MIGRATIONS_DIR } from './migrations.ts';
import { parseJsonEachRow, rowToJson } from './json.ts';
import type { InsertOptions, QueryParam, Warehouse } from './types.ts';

/** Options of the ClickHouse server warehouse (HTTP interface through @clickhouse/client). */
export interface ClickHouseWarehouseOptions {
  /** Server URL, e.g. `http://127.0.0.1:8123`. */
  url: string;
  /** User name. @default 'default' */
  username?: string;
  /** Password; never logged. @default '' */
  password?: string;
  /** Database of the edgelat tables. @default 'edgelat' */
  database?: string;
  /** Folder of the migration files. @default the repository's sql/migrations */
  migrationsDir?: string;
  /** Time limit of one request, milliseconds. @default 30000 */
  requestTimeoutMs?: number;
  /** Idle keep-alive sockets are dropped after this many milliseconds (keep below the server's keep_alive_timeout). @default 2500 */
  idleSocketTtlMs?: number;
}

/**
 * ClickHouse error codes worth a retry: the server or the network may recover.
 * 159 TIMEOUT_EXCEEDED, 202 TOO_MANY_SIMULTANEOUS_QUERIES, 203 NO_FREE_CONNECTION,
 * 209 SOCKET_TIMEOUT, 210 NETWORK_ERROR, 241 MEMORY_LIMIT_EXCEEDED,
 * 242 TABLE_IS_READ_ONLY, 319 UNKNOWN_STATUS_OF_INSERT, 425 SYSTEM_ERROR,
 * 999 KEEPER_EXCEPTION, 1000 POCO_EXCEPTION.
 */
export const RETRIABLE_CODES: ReadonlySet<number> = new Set([159, 202, 203, 209, 210, 241, 242, 319, 425, 999, 1000]);

const NETWORK = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|timeout/i;

/**
 * Wrap a client failure as WarehouseError: `code` is the server's ClickHouse code
 * when known; `retriable` for network errors, timeouts and {@link RETRIABLE_CODES}.
 */
export function toWarehouseError(error: unknown, what: string): WarehouseError {
  if (error instanceof WarehouseError) return error;
  const e = error as { message?: unknown; code?: unknown };
  const message = String(e?.message ?? error);
  let code: number | null = null;
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) code = Number(e.code);
  else if (/Code: (\d+)/.test(message)) code = Number(/Code: (\d+)/.exec(message)![1]);
  const network = code === null && (NETWORK.test(message) || (typeof e?.code === 'string' && NETWORK.test(e.code)));
  const retriable = network || (code !== null && RETRIABLE_CODES.has(code));
  return new WarehouseError(`${what} failed: ${message.split('\n')[0]}`, code, { retriable, cause: error });
}

/**
 * The ClickHouse server warehouse: same SQL files and same behaviour as
 * `ChdbWarehouse`, over HTTP with @clickhouse/client. Queries use server-side
 * bound parameters only.
 * @see ChdbWarehouse
 */
export class ClickHouseWarehouse implements Warehouse {
  readonly database: string;
  private readonly client: ClickHouseClient;
  private readonly migrationsDir: string;
  private closed = false;

  /** @throws {RangeError} if `database` is not a plain identifier. */
  constructor(options: ClickHouseWarehouseOptions) {
    this.database = assertIdentifier(options.database ?? 'edgelat');
    this.migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
    this.client = createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      database: 'default',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      keep_alive: { enabled: true, idle_socket_ttl: options.idleSocketTtlMs ?? 2_500 },
      // Failures reach the caller as WarehouseError (and the sink logs its retries): no second report on the console.
      log: { level: ClickHouseLogLevel.OFF },
      compression: { request: false, response: false },
      clickhouse_settings: { date_time_output_format: 'simple' },
      // Rows arrive already serialized by rowToJson (exact bigint, NaN refused): pass them through.
      json: { parse: JSON.parse, stringify: (input: unknown) => (typeof input === 'string' ? input : rowToJson(input as Record<string, unknown>)) },
    });
  }

  async migrate(): Promise<string[]> {
    return applyMigrations(this, this.migrationsDir);
  }

  /** @throws {RangeError} naming the column when a value is NaN or ±Infinity (nothing is sent). */
  async insert(table: string, rows: readonly Record<string, unknown>[], options: InsertOptions = {}): Promise<void> {
    this.assertOpen();
    if (rows.length === 0) return;
    const lines = rows.map(rowToJson); // throws RangeError before anything is sent
    // A block may span many monthly partitions (a backfill): no cap on parts per insert.
    const settings: Record<string, string | number> = { deduplicate_blocks_in_dependent_materialized_views: 1, max_partitions_per_insert_block: 0 };
    if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
    try {
      await this.client.insert({ table, values: lines, format: 'JSONEachRow', clickhouse_settings: settings });
    } catch (error) {
      throw toWarehouseError(error, `insert into ${table}`);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, QueryParam> = {}): Promise<T[]> {
    return parseJsonEachRow<T>(await this.queryText(sql, params, 'JSONEachRow'));
  }

  async queryText(sql: string, params: Record<string, QueryParam> = {}, format = 'JSONEachRow'): Promise<string> {
    this.assertOpen();
    try {
      // exec() rather than query(): the format is any ClickHouse format name, and 64-bit integers stay unquoted for exact parsing.
      const result = await this.client.exec({
        query: `${sql.trim().replace(/;$/, '')}\nFORMAT ${format}`,
        query_params: params as Record<string, unknown>,
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const chunks: Buffer[] = [];
      for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      throw toWarehouseError(error, 'query');
    }
  }

  async exec(sql: string, params: Record<string, QueryParam> = {}): Promise<void> {
    this.assertOpen();
    try {
      await this.client.command({ query: sql, query_params: params as Record<string, unknown> });
    } catch (error) {
      throw toWarehouseError(error, 'statement');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new WarehouseError('the warehouse is closed', null);
  }
}
