/**
 * The SQL engine behind the HTTP endpoint: two chdb connections of its own on
 * one data folder, a reader and a writer.
 *
 * chdb allows one active data folder per process. The engine's connections
 * take a use of the process's session on the folder (services/warehouse/chdb.ts
 * `openConnection`: the folder's lock and pid file). Queries on one chdb
 * connection run one at a time, so on the warehouse's connection a long
 * analyst query held up `edgelat serve`'s predictor API (`/healthz` waited 4 s
 * behind a 5-s query). All connections see the same tables.
 * - The reader has ClickHouse's `readonly` = 1 (not 2, at which chdb lets
 *   `file()` and `INSERT INTO FUNCTION file` through): ClickHouse itself
 *   refuses a write, DDL, a table function (`file()`, `url()`, …) or a setting
 *   change (code 164 READONLY), however the statement is spelled. The endpoint
 *   runs GET and HEAD requests there, as ClickHouse makes GET read-only.
 * - Both have `max_execution_time` (a query running longer fails with code
 *   159, TIMEOUT_EXCEEDED, and stops: chdb cannot cancel a query whose client
 *   went away); on the reader a query cannot lift it.
 * - A request's URL settings are set for its statement and put back after it,
 *   as is anything a `SET` statement changed (a setting lasts one request).
 * Each switches its default database with `USE`.
 */
import { resolve } from 'node:path';
import { Session } from 'chdb';
import { WarehouseError } from '../../errors.ts';
import { openConnection } from '../warehouse/chdb.ts';
import { DEFAULT_MAX_EXECUTION_S } from './protocol.ts';

/** Result of one query: the engine's output bytes in the requested format. */
export interface EngineQueryResult {
  /** Output bytes in the format of the query (`FORMAT` clause) or the default. */
  body: Uint8Array;
  /** Rows read by the engine. */
  readRows: number;
  /** Bytes read by the engine. */
  readBytes: number;
}

/** One raw insert: the payload bytes are parsed by the engine, never by JavaScript. */
export interface EngineInsert {
  /** Target table, optionally `db.table`. */
  table: string;
  /** Payload in `format`. */
  body: Buffer;
  /** Input format, e.g. `JSONEachRow`; see {@link INSERT_FORMATS}. */
  format: string;
  /** Explicit column list, as in `INSERT INTO t (a, b)`. */
  columns?: string[];
  /** ClickHouse settings of this insert (e.g. `insert_deduplication_token`). */
  settings: Record<string, string>;
  /** Default database for an unqualified table. @default 'default' */
  database?: string;
}

/** Result of one insert. */
export interface EngineInsertResult {
  /** Rows written, including rows cascaded into materialized views. */
  writtenRows: number;
  /** Bytes written. */
  writtenBytes: number;
}

/** What the endpoint needs from an engine. */
export interface SqlEngine {
  /**
   * Run one statement with server-side bound parameters.
   * @param format  default output format; a `FORMAT` clause in `sql` wins.
   * @param database default database of the statement (`USE`), `default` when omitted.
   * @param readonly run it where ClickHouse refuses writes, DDL and table functions (code 164). @default false
   * @param settings ClickHouse settings for this statement only (the URL's, as ClickHouse's HTTP interface applies them).
   * @throws {WarehouseError} with the ClickHouse code of the failure: 115 for an unknown setting, 452 for a time limit
   *   above the endpoint's own.
   */
  query(sql: string, params: Record<string, string | null>, format: string, database?: string, readonly?: boolean, settings?: Record<string, string>): Promise<EngineQueryResult>;
  /**
   * Insert a raw payload.
   * @throws {WarehouseError} with the ClickHouse code (73 for a format outside {@link INSERT_FORMATS}).
   */
  insert(request: EngineInsert): Promise<EngineInsertResult>;
  /** Release the data folder. Idempotent. */
  close(): Promise<void>;
}

/** Input formats chdb's raw insert accepts (a whitelist of the addon). */
export const INSERT_FORMATS = ['JSONEachRow', 'JSONCompactEachRow', 'CSV', 'CSVWithNames', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames'] as const;

/** Turn a chdb failure into a WarehouseError carrying ClickHouse's `Code: N.`. */
export function engineError(error: unknown): WarehouseError {
  if (error instanceof WarehouseError) return error;
  const message = String((error as Error)?.message ?? error);
  const own = (error as { clickhouseCode?: unknown })?.clickhouseCode;
  const code = typeof own === 'number' ? own : Number(/Code: (\d+)/.exec(message)?.[1] ?? NaN);
  return new WarehouseError(message, Number.isFinite(code) ? code : null, { cause: error });
}


/** A URL setting the read-only connection cannot take (a change, not its current value): code 164 naming it. */
export class SettingRefusal extends WarehouseError {
  constructor(message: string) {
    super(message, 164);
  }
}

/** A ClickHouse string literal of any text (backslash and quote escaped). */
const sqlString = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Options of {@link ChdbEngine}. */
export interface ChdbEngineOptions {
  /** Longest a query may run, s (ClickHouse's max_execution_time); 0 = no limit. @default 300 */
  maxExecutionS?: number;
}

/** One chdb connection of the engine: its session and its queue of calls. */
class Connection {
  private tail: Promise<unknown> = Promise.resolve();
  /** The settings the connection had changed when it opened (its limits, `readonly`), read at its first call. */
  private baseline: Map<string, { value: string; default: string }> | null = null;
  /** Every setting's value when the connection opened, read at its first call: a URL setting equal to it is not set. */
  private values: Map<string, string> | null = null;

  constructor(readonly session: Session, readonly release: () => void) {}

  /**
   * Run `task` after every earlier call on this connection, in `database`, with `settings` applied for it alone;
   * failures become WarehouseError. When `settings` were given, or `resets` (the statement may be a `SET`), every
   * setting the connection did not have when it opened is put back afterwards: over HTTP without a session a setting
   * lasts one request, and a `SET max_execution_time = 0` must not lift the limit for every later request.
   * @throws {WarehouseError} code 115 naming a setting ClickHouse does not have; the engine's error, naming the setting
   *   and value, for a value it cannot take.
   */
  run<T>(database: string, task: (session: Session) => Promise<T>, settings: Readonly<Record<string, string>> = {}, resets = false): Promise<T> {
    const step = async () => {
      await this.use(database);
      this.baseline ??= await this.changedSettings();
      this.values ??= await this.allSettings();
      // A setting given the value it has needs no SET (clients send date_time_output_format=simple on every request).
      const names = Object.keys(settings).filter((n) => this.values!.get(n) !== settings[n]);
      if (names.length === 0 && !resets) return task(this.session);
      try {
        for (const n of names) await this.set(n, settings[n]!);
        return await task(this.session);
      } finally {
        await this.resetSettings();
      }
    };
    const result = this.tail.then(step, step).catch((error: unknown) => {
      throw engineError(error);
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Wait for the calls in flight, then close. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    this.release();
  }

  /** Every setting's value on the connection as it opened (as text). */
  private async allSettings(): Promise<Map<string, string>> {
    const text = (await this.session.queryAsync('SELECT name, value FROM system.settings FORMAT JSONEachRow')).text();
    return new Map(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; value: string }).map((r) => [r.name, r.value]));
  }

  /** The settings the connection has set (`changed`), with their values and ClickHouse's defaults (as text). */
  private async changedSettings(): Promise<Map<string, { value: string; default: string }>> {
    const text = (await this.session.queryAsync('SELECT name, value, default FROM system.settings WHERE changed FORMAT JSONEachRow')).text();
    return new Map(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; value: string; default: string }).map((r) => [r.name, r]));
  }

  /**
   * Put every setting back to what the connection had when it opened: its own value, else DEFAULT. A setting set to
   * the value it already had is left (the read-only connection takes such a SET, but no SET … = DEFAULT).
   */
  private async resetSettings(): Promise<void> {
    const base = this.baseline ?? new Map<string, { value: string; default: string }>();
    for (const [n, now] of await this.changedSettings()) {
      const was = base.get(n)?.value ?? now.default;
      if (now.value !== was) await this.session.queryAsync(`SET ${n} = ${base.has(n) ? sqlString(was) : 'DEFAULT'}`, { format: 'TSV' });
    }
  }

  /**
   * `SET name = 'value'`, failing with the setting named.
   * @throws {WarehouseError} 115 for a name that is no setting; {@link SettingRefusal} (164) for a change on the
   *   read-only connection.
   */
  private async set(name: string, value: string): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new WarehouseError(`Code: 115. DB::Exception: Unknown setting ${sqlString(name)}. (UNKNOWN_SETTING)`, 115);
    await this.session.queryAsync(`SET ${name} = ${sqlString(value)}`, { format: 'TSV' }).catch((error: unknown) => {
      const e = engineError(error);
      if (e.code === 115) throw e;
      if (e.code === 164) {
        throw new SettingRefusal(`Code: 164. DB::Exception: Cannot modify setting ${name} (to ${sqlString(value)}) in readonly mode: over HTTP, method GET implies readonly; send the query with POST to apply URL settings. (READONLY)`);
      }
      throw new WarehouseError(e.message.replace(/^(Code: \d+\. DB::Exception: )?/, `$1setting ${name} = ${sqlString(value)}: `), e.code, { cause: error });
    });
  }

  /** Switch the connection to the request's database, every time: a request's own `USE` must not carry over to the next. */
  private async use(database: string): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
      throw new WarehouseError(`Code: 81. DB::Exception: database ${JSON.stringify(database)} is not a plain identifier. (UNKNOWN_DATABASE)`, 81);
    }
    await this.session.queryAsync(`USE ${database}`, { format: 'TSV' });
  }
}

/**
 * A {@link SqlEngine} on two chdb connections that this engine opens on `dataDir`: a reader
 * (`readonly` = 1) and a writer. Calls on one connection are serialized (its current database is state).
 */
export class ChdbEngine implements SqlEngine {
  private readonly reader: Connection;
  private readonly writer: Connection;
  private readonly maxExecutionS: number;
  private closed = false;

  /**
   * @param dataDir folder of the chdb data; created if missing.
   * @throws {RangeError} when `maxExecutionS` is not a number of seconds ≥ 0.
   * @throws {WarehouseLockedError} when another process holds the folder.
   * @throws {WarehouseError} when this process already opened another chdb folder, or a connection fails to open.
   */
  constructor(dataDir: string, options: ChdbEngineOptions = {}) {
    const limit = options.maxExecutionS ?? DEFAULT_MAX_EXECUTION_S;
    if (!(Number.isFinite(limit) && limit >= 0)) throw new RangeError(`ChdbEngine: maxExecutionS must be a number of seconds ≥ 0, got ${limit}`);
    this.maxExecutionS = limit;
    const path = resolve(dataDir);
    const w = openConnection(path, { max_execution_time: limit });
    try {
      // A read that blocks on the network (url(), DESCRIBE url()) is not stopped by max_execution_time: bound its HTTP waits too.
      const http = Math.max(1, Math.min(limit === 0 ? 30 : limit, 30));
      const r = openConnection(path, { max_execution_time: limit, readonly: 1, http_connection_timeout: http, http_send_timeout: http, http_receive_timeout: http });
      this.reader = new Connection(r.session, r.release);
    } catch (error) {
      w.release();
      throw error;
    }
    this.writer = new Connection(w.session, w.release);
  }

  query(sql: string, params: Record<string, string | null>, format: string, database = 'default', readonly = false, settings: Record<string, string> = {}): Promise<EngineQueryResult> {
    if (this.closed) return Promise.reject(new WarehouseError('the endpoint engine is closed', null));
    const limit = settings.max_execution_time;
    // The endpoint's time limit bounds every query, as a ClickHouse settings constraint would: a URL may lower it only.
    if (limit !== undefined && this.maxExecutionS > 0 && !(Number(limit) > 0 && Number(limit) <= this.maxExecutionS)) {
      return Promise.reject(new WarehouseError(`Code: 452. DB::Exception: Setting max_execution_time shouldn't be greater than ${this.maxExecutionS} or 0 (no limit) on this endpoint (edgelat serve --sql-timeout), got ${sqlString(limit)}. (SETTING_CONSTRAINT_VIOLATION)`, 452));
    }
    return (readonly ? this.reader : this.writer).run(database, async (session) => {
      const result = Object.keys(params).length ? await session.queryBindAsync(sql, params, { format }) : await session.queryAsync(sql, { format });
      return { body: result.bytes(), readRows: result.rowsRead, readBytes: result.bytesRead };
    }, settings, /\bSET\b/i.test(sql));
  }

  insert(request: EngineInsert): Promise<EngineInsertResult> {
    const format = INSERT_FORMATS.find((f) => f.toLowerCase() === request.format.toLowerCase());
    if (!format) {
      return Promise.reject(new WarehouseError(`Code: 73. DB::Exception: insert format ${JSON.stringify(request.format)} is not supported by the edgelat endpoint; use one of ${INSERT_FORMATS.join(', ')}. (UNKNOWN_FORMAT)`, 73));
    }
    if (this.closed) return Promise.reject(new WarehouseError('the endpoint engine is closed', null));
    return this.writer.run(request.database ?? 'default', async (session) => {
      const summary = await session.insert({ table: request.table, values: request.body, format, columns: request.columns, settings: request.settings });
      return { writtenRows: summary.rowsWritten, writtenBytes: summary.bytesWritten };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader.close();
    await this.writer.close();
  }
}
