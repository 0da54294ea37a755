/**
 * The SQL engine behind the HTTP endpoint: chdb connections of its own on
 * one data folder: readers (two by default, so that one long read does not hold up
 * every other) and a writer.
 *
 * chdb allows one active data folder per process. The engine's connections
 * take a use of the process's session on the folder (services/warehouse/chdb.ts
 * `openConnection`: the folder's lock and pid file). Queries on one chdb
 * connection run one at a time, so on the warehouse's connection a long
 * analyst query held up `edgelat serve`'s predictor API (`/healthz` waited 4 s
 * behind a 5-s query). All connections see the same tables.
 * - The readers have ClickHouse's `readonly` = 1 (not 2, at which chdb lets
 *   `file()` and `INSERT INTO FUNCTION file` through): ClickHouse itself
 *   refuses a write, DDL, a table function (`file()`, `url()`, …) or a setting
 *   change (code 164 READONLY), however the statement is spelled. The endpoint
 *   runs GET and HEAD requests there, as ClickHouse makes GET read-only, and
 *   POST requests that only read (those a reader refuses then run on the writer).
 * - Both have `max_execution_time` (a query running longer fails with code
 *   159, TIMEOUT_EXCEEDED, and stops: chdb cannot cancel a query whose client
 *   went away); on a reader a query cannot lift it, and the endpoint refuses a
 *   statement that sets it to 0 or above the limit ({@link executionTimeProblem}).
 * - All parse queries up to `MAX_QUERY_SIZE_CEILING_BYTES` (16 MiB); the endpoint
 *   holds each request to the `max_query_size` its URL gives (256 KiB by default).
 * - The engine changes no setting of its connections: a request's URL settings
 *   may only restate their values (a setting changed for one request could not
 *   always be put back), and the endpoint refuses `SET` statements.
 * Each switches its default database with `USE`.
 */
import { randomUUID } from 'node:crypto';
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Session } from 'chdb';
import { WarehouseError } from '../../errors.ts';
import { chdbCall } from '../warehouse/chdb-activity.ts';
import { openConnection, streamStatement } from '../warehouse/chdb.ts';
import { settingsOf } from '../warehouse/statements.ts';
import { DEFAULT_MAX_EXECUTION_S, MAX_QUERY_SIZE_CEILING_BYTES } from './protocol.ts';

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
  /** The client went away: an insert still waiting for the writer is not run (its client, without an answer, may send it again). */
  signal?: AbortSignal;
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
   * @param readonly run it where ClickHouse refuses writes, DDL and table functions (code 164); 'any': on a free reader,
   *                 else the writer when idle, else the first reader to free (a statement every connection runs alike:
   *                 the endpoint's parse check). @default false
   * @param settings The request's URL settings: each may only restate the connection's value (the engine changes none).
   * @throws {WarehouseError} with the ClickHouse code of the failure: 115 for an unknown setting, 452 for one whose
   *   value differs.
   */
  query(sql: string, params: Record<string, string | null>, format: string, database?: string, readonly?: boolean | 'any', settings?: Record<string, string>): Promise<EngineQueryResult>;
  /**
   * Run one statement as {@link SqlEngine.query} does, handing its output over block by block as the engine makes it
   * (a read of any size holds about one block here); statements that return no rows run as one query. A stream that
   * fails frees its query on the engine before its connection serves another call (see `releaseFailedStream`).
   * @param readonly As {@link SqlEngine.query}'s: true on a reader, false on the writer, 'any' where one is free first.
   * @param onChunk Each chunk's bytes and rows (null: not known, an answer made whole in a format that does not tell
   *                them), in order; awaited before the next block is fetched. A throw stops the query and is thrown.
   * @param signal  The client went away: a statement still waiting for a connection is not run, and a read stops.
   * @param stopRunning Whether a statement already running is killed when `signal` aborts: for reads; a change runs to its
   *                end, as ClickHouse's HTTP interface cancels only read-only queries when the client goes
   *                (cancel_http_readonly_queries_on_client_close): an INSERT … SELECT cut off leaves part of its rows.
   *                @default true
   * @returns       Rows and bytes the engine read where the engine tells them (statements without rows), else null.
   * @throws {WarehouseError} as {@link SqlEngine.query}, whether before the first chunk or after it.
   */
  stream(sql: string, params: Record<string, string | null>, format: string, database: string, readonly: boolean | 'any', settings: Record<string, string>,
    onChunk: (chunk: Uint8Array, rows: number | null) => Promise<void> | void, signal?: AbortSignal, stopRunning?: boolean): Promise<{ readRows: number; readBytes: number } | null>;
  /**
   * Insert a raw payload.
   * @throws {WarehouseError} with the ClickHouse code (73 for a format outside {@link INSERT_FORMATS}).
   */
  insert(request: EngineInsert): Promise<EngineInsertResult>;
  /** Release the data folder. Idempotent. */
  close(): Promise<void>;
  /** Longest a query may run, s (0 = none); a statement's own `max_execution_time` may not lift it. @default 0 */
  readonly maxExecutionS?: number;
  /** Most memory one query may take, bytes (0 = none); a statement's own `max_memory_usage` may not lift it. @default 0 */
  readonly maxMemoryBytes?: number;
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


/** A ClickHouse string literal of any text (backslash and quote escaped). */
const sqlString = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Make chdb let go of the query of a stream that failed on `session`, before the connection serves another request.
 *
 * Behaviour: chdb (3.4) does not free a stream whose fetch failed (killed, timed out, a bad value): its query stays in
 * `system.processes` until the connection's next query. `KILL QUERY … SYNC` waits for its target to leave that list,
 * so a KILL over the endpoint hung until `--sql-timeout` (a trial: 10 s, then TIMEOUT_EXCEEDED) unless another request
 * happened to reach the killed query's connection. A trivial query on the same connection frees it at once.
 * Its own failure is ignored (the stream's error is the one the caller throws).
 * @param session  The chdb connection the stream ran on, still held by the caller.
 */
async function releaseFailedStream(session: Session): Promise<void> {
  await chdbCall(() => session.queryAsync('SELECT 1', { format: 'TSV' })).catch(() => undefined);
}

/** Start of the comment each streamed statement is run with, then a random UUID: what a cancellation kills it by. */
export const QUERY_MARK = 'edgelat-endpoint-query ';

/** Options of {@link ChdbEngine}. */
export interface ChdbEngineOptions {
  /** Longest a query may run, s (ClickHouse's max_execution_time); 0 = no limit. @default 300 */
  maxExecutionS?: number;
  /** Read-only connections (integer 1..16): a read runs on the first one free, so a long read holds up another only when every reader is busy. @default 2 */
  readers?: number;
  /**
   * Most memory one query may take, bytes (ClickHouse's max_memory_usage on every connection; a read cannot change it,
   * a write's SETTINGS may lower it, not lift it: {@link memoryProblem}); 0 = no limit but the process's.
   * @default {@link defaultQueryMemoryBytes} (an eighth of the machine's memory)
   */
  maxQueryMemoryBytes?: number;
}

/**
 * The default memory limit of one query: an eighth of the machine's memory, so the two readers together stay under a
 * quarter of it. chdb runs in the server's process; one GET `SELECT length(groupArray(number)) FROM
 * numbers(300000000)` took the process from 1.8 to 5.5 GB (a security trial), and a few at once would take the machine.
 */
export function defaultQueryMemoryBytes(): number {
  return Math.floor(totalmem() / 8);
}

/** Default read-only connections of the engine: one long read does not hold up every other (a trial: SELECT 1 waited 11.7 s). */
export const DEFAULT_READERS = 2;

/** One chdb connection of the engine: its session and its queue of calls. */
class Connection {
  private tail: Promise<unknown> = Promise.resolve();
  /** Calls queued or running on this connection. */
  pending = 0;
  /** Set when the engine stops ({@link ChdbEngine.cancelRunning}): a call still queued is refused when its turn comes. */
  stopping = false;
  /** Every setting's value on the connection, read when a request first gives settings (the engine never changes them). */
  private values: Map<string, string> | null = null;

  constructor(readonly session: Session, readonly release: () => void) {}

  /**
   * Run `task` after every earlier call on this connection, in `database`; failures become WarehouseError.
   * `settings` (a request's URL settings) may only restate a value the connection has: the engine never changes a
   * setting of its shared connections. A setting changed for one request and put back after it could not always be put
   * back (`max_query_size=5` left no statement short enough to do it, `max_result_rows=1` no read of what to put back):
   * a trial's single POST broke every later one.
   * @throws {WarehouseError} code 115 naming a setting ClickHouse does not have; code 452 naming a setting whose value
   *   differs, with how to give it (`SETTINGS` in the query, over POST).
   */
  run<T>(database: string, task: (session: Session) => Promise<T>, settings: Readonly<Record<string, string>> = {}): Promise<T> {
    const step = async () => {
      if (this.stopping) throw new WarehouseError('Code: 394. DB::Exception: the edgelat endpoint is stopping: the query was not run. (QUERY_WAS_CANCELLED)', 394);
      await this.use(database);
      if (Object.keys(settings).length > 0) {
        this.values ??= await this.allSettings();
        for (const [name, value] of Object.entries(settings)) {
          const now = this.values.get(name);
          if (now === undefined) throw new WarehouseError(`Code: 115. DB::Exception: Unknown setting ${sqlString(name)}. (UNKNOWN_SETTING)`, 115);
          if (now !== value) {
            throw new WarehouseError(`Code: 452. DB::Exception: setting ${name} = ${sqlString(value)} in the URL: the edgelat endpoint does not change settings per request (its connections are shared; here ${name} is ${sqlString(now)}); `
              + `put SETTINGS ${name} = ${sqlString(value)} in the query and send it with POST (GET is read-only: no setting changes). (SETTING_CONSTRAINT_VIOLATION)`, 452);
          }
        }
      }
      return task(this.session);
    };
    this.pending++;
    const result = this.tail.then(step, step).catch((error: unknown) => {
      throw engineError(error);
    }).finally(() => {
      this.pending--;
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

  /** Switch the connection to the request's database, every time: a request's own `USE` must not carry over to the next. */
  private async use(database: string): Promise<void> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
      throw new WarehouseError(`Code: 81. DB::Exception: database ${JSON.stringify(database)} is not a plain identifier. (UNKNOWN_DATABASE)`, 81);
    }
    await this.session.queryAsync(`USE ${database}`, { format: 'TSV' });
  }
}

/**
 * The readers of an engine as one pool: a read takes the first reader free, or waits in one queue (first come, first
 * served) for whichever frees first. A read bound to a reader when it arrived had waited behind that reader's long
 * query while the other reader stood idle (a trial: `SELECT 'C'` took 40 s, the other reader free from 6 s).
 */
class ReaderPool {
  private readonly idle: Connection[];
  private readonly waiting: ((c: Connection) => void)[] = [];

  constructor(readonly readers: readonly Connection[]) {
    this.idle = [...readers];
  }

  /** Whether a reader is free now. */
  get free(): boolean {
    return this.idle.length > 0;
  }

  /** Run `task` on the first reader free, then hand that reader to the next read waiting. */
  async run<T>(task: (c: Connection) => Promise<T>): Promise<T> {
    const c = this.idle.shift() ?? (await new Promise<Connection>((r) => this.waiting.push(r)));
    try {
      return await task(c);
    } finally {
      const next = this.waiting.shift();
      if (next) next(c);
      else this.idle.push(c);
    }
  }
}

/**
 * Longest the writer's HTTP read (a POST's `url()`) waits to connect, send or receive, s, tried once: the inserts and
 * other writes queue behind it.
 */
export const WRITER_HTTP_TIMEOUT_S = 10;

/** Shortest `max_execution_time` a query may set, s: ClickHouse rounds a smaller one down to 0 µs, which is no limit. */
export const MIN_QUERY_EXECUTION_S = 0.001;

/**
 * Why a statement may not run under an engine whose limit is `limitS` seconds, or null: a `max_execution_time` in its
 * `SETTINGS` (read from ClickHouse's canonical text, statements.ts `settingsOf`: quoted names, comments, string values)
 * that is not a number from {@link MIN_QUERY_EXECUTION_S} to the limit. A POST with a SETTINGS clause runs on the
 * writer, where ClickHouse lets a query change settings: `SETTINGS max_execution_time = 0` ran 324 s past
 * `--sql-timeout 3` and held up every insert meanwhile, and 1e-7 (rounded to 0) did too (trials). A lower limit is taken.
 * @param canonical  ClickHouse's canonical text of the statement.
 * @param limitS     The engine's limit, s; 0 = none (then nothing is refused).
 */
export function executionTimeProblem(canonical: string, limitS: number): string | null {
  if (limitS === 0) return null;
  for (const { name, value } of settingsOf(canonical)) {
    if (name.toLowerCase() !== 'max_execution_time') continue;
    const s = Number(value);
    if (!(/^\s*[0-9.eE+-]+\s*$/.test(value) && s >= MIN_QUERY_EXECUTION_S && s <= limitS)) {
      return `Code: 452. DB::Exception: max_execution_time = ${value} in the query: the edgelat endpoint's limit is ${limitS} s (serve --sql-timeout); a query may set a lower one (at least ${MIN_QUERY_EXECUTION_S} s), not lift it. (SETTING_CONSTRAINT_VIOLATION)`;
    }
  }
  return null;
}

/**
 * Why a statement may not run under an engine whose memory limit is `limitBytes`, or null: a `max_memory_usage` in
 * its `SETTINGS` that is not a whole number from 1 to the limit (0 is no limit). A POST with SETTINGS runs on the
 * writer, where ClickHouse lets a query change settings (see {@link executionTimeProblem}).
 * @param canonical   ClickHouse's canonical text of the statement.
 * @param limitBytes  The engine's limit, bytes; 0 = none (then nothing is refused).
 */
export function memoryProblem(canonical: string, limitBytes: number): string | null {
  if (limitBytes === 0) return null;
  for (const { name, value } of settingsOf(canonical)) {
    if (name.toLowerCase() !== 'max_memory_usage') continue;
    const v = Number(value.trim().replace(/^'|'$/g, ''));
    if (!(Number.isSafeInteger(v) && v >= 1 && v <= limitBytes)) {
      return `Code: 452. DB::Exception: max_memory_usage = ${value} in the query: the edgelat endpoint's limit is ${limitBytes} bytes (an eighth of the machine's memory); a query may set a lower one, not lift it. (SETTING_CONSTRAINT_VIOLATION)`;
    }
  }
  return null;
}

/**
 * A {@link SqlEngine} on chdb connections that this engine opens on `dataDir`: readers (`readonly` = 1; a read takes
 * the first reader free, see {@link ReaderPool}) and a writer. Calls on one connection are serialized (its current
 * database is state); connections run side by side.
 */
export class ChdbEngine implements SqlEngine {
  private readonly readers: ReaderPool;
  private readonly writer: Connection;
  /** Longest a query may run, s (0 = none): what `executionTimeProblem` holds a query's own setting to. */
  readonly maxExecutionS: number;
  /** Most memory one query may take, bytes (0 = none): what `memoryProblem` holds a query's own setting to. */
  readonly maxMemoryBytes: number;
  private closed = false;
  private readonly path: string;

  /**
   * @param dataDir folder of the chdb data; created if missing.
   * @throws {RangeError} when `maxExecutionS` is not a number of seconds ≥ 0, or `readers` not an integer in 1..16.
   * @throws {WarehouseLockedError} when another process holds the folder.
   * @throws {WarehouseError} when this process already opened another chdb folder, or a connection fails to open.
   */
  constructor(dataDir: string, options: ChdbEngineOptions = {}) {
    const limit = options.maxExecutionS ?? DEFAULT_MAX_EXECUTION_S;
    if (!(Number.isFinite(limit) && limit >= 0)) throw new RangeError(`ChdbEngine: maxExecutionS must be a number of seconds ≥ 0, got ${limit}`);
    const readers = options.readers ?? DEFAULT_READERS;
    const memory = options.maxQueryMemoryBytes ?? defaultQueryMemoryBytes();
    if (!(Number.isSafeInteger(memory) && memory >= 0)) throw new RangeError(`ChdbEngine: maxQueryMemoryBytes must be a whole number of bytes ≥ 0, got ${memory}`);
    if (!Number.isInteger(readers) || readers < 1 || readers > 16) throw new RangeError(`ChdbEngine: readers must be an integer in 1..16, got ${readers}`);
    const path = resolve(dataDir);
    // Every connection parses queries up to the endpoint's ceiling; the endpoint holds each request to its own
    // max_query_size (protocol.ts querySizeProblem): the engine changes no setting per request.
    // The writer too: a POST with SETTINGS runs there (a re-test: 400 M numbers in one array took serve to 6.5 GB).
    // A read that blocks on the network (url(), DESCRIBE url()) is not stopped by max_execution_time: bound its HTTP waits
    // too. On the writer, where a POST's url() runs and every insert waits behind it, one try of at most
    // WRITER_HTTP_TIMEOUT_S a wait (a trial: a refused port held it 125 s; a re-test: a port that never answered, 90 s).
    const http = Math.max(1, Math.min(limit === 0 ? 30 : limit, 30));
    const writerHttp = Math.min(http, WRITER_HTTP_TIMEOUT_S);
    const w = openConnection(path, {
      max_execution_time: limit, max_query_size: MAX_QUERY_SIZE_CEILING_BYTES, max_memory_usage: memory,
      http_connection_timeout: writerHttp, http_send_timeout: writerHttp, http_receive_timeout: writerHttp, http_max_tries: 1,
    });
    const opened: Connection[] = [];
    try {
      for (let i = 0; i < readers; i++) {
        const r = openConnection(path, { max_execution_time: limit, max_query_size: MAX_QUERY_SIZE_CEILING_BYTES, readonly: 1, http_connection_timeout: http, http_send_timeout: http, http_receive_timeout: http, max_memory_usage: memory });
        opened.push(new Connection(r.session, r.release));
      }
    } catch (error) {
      for (const r of opened) r.release();
      w.release();
      throw error;
    }
    this.readers = new ReaderPool(opened);
    this.writer = new Connection(w.session, w.release);
    this.maxExecutionS = limit;
    this.maxMemoryBytes = memory;
    this.path = path;
  }

  /** Calls queued or running on the engine's connections. */
  get pending(): number {
    return this.writer.pending + this.readers.readers.reduce((n, r) => n + r.pending, 0);
  }

  /**
   * Stop the engine's work for a shutdown that should not wait for it: the queries running anywhere in this process
   * (the endpoint's, and the predictor API's on the same chdb folder) are cancelled by `KILL QUERY … ASYNC` from a
   * connection of its own, and a call still queued is refused when its turn comes ("the edgelat endpoint is
   * stopping"). A cancelled query's client gets ClickHouse's code 394 (QUERY_WAS_CANCELLED). A trial: SIGTERM to
   * `serve` waited 18.8 s for a running query, and up to --sql-timeout (300 s) for a longer one, saying nothing.
   * The KILL runs whether or not the engine's own connections are busy: the predictor API's queries are in the list.
   * @returns How many calls were queued or running on the engine's connections when it was called.
   */
  async cancelRunning(): Promise<number> {
    const busy = this.pending;
    for (const c of [this.writer, ...this.readers.readers]) c.stopping = true;
    if (this.closed) return busy;
    let killer: { session: Session; release(): void } | null = null;
    try {
      killer = openConnection(this.path, {});
      const session = killer.session;
      await chdbCall(() => session.queryAsync('KILL QUERY WHERE query_id != queryID() ASYNC', { format: 'TSV' }));
    } catch {
      // Nothing more to do: close() then waits for the queries, as before.
    } finally {
      killer?.release();
    }
    return busy;
  }


  /**
   * Run `task` where a call of this kind runs: on the writer (false); on the first reader free (true); or ('any') on a
   * free reader, else on the writer when it is idle, else on the first reader to free.
   */
  private on<T>(readonly: boolean | 'any', task: (c: Connection) => Promise<T>): Promise<T> {
    if (!readonly) return task(this.writer);
    if (readonly === 'any' && !this.readers.free && this.writer.pending === 0) return task(this.writer);
    return this.readers.run(task);
  }

  query(sql: string, params: Record<string, string | null>, format: string, database = 'default', readonly: boolean | 'any' = false, settings: Record<string, string> = {}): Promise<EngineQueryResult> {
    if (this.closed) return Promise.reject(new WarehouseError('the endpoint engine is closed', null));
    return this.on(readonly, (c) => c.run(database, async (session) => {
      const result = await chdbCall(() => (Object.keys(params).length ? session.queryBindAsync(sql, params, { format }) : session.queryAsync(sql, { format })));
      return { body: result.bytes(), readRows: result.rowsRead, readBytes: result.bytesRead };
    }, settings));
  }

  stream(sql: string, params: Record<string, string | null>, format: string, database: string, readonly: boolean | 'any', settings: Record<string, string>,
    onChunk: (chunk: Uint8Array, rows: number | null) => Promise<void> | void, signal?: AbortSignal, stopRunning = true): Promise<{ readRows: number; readBytes: number } | null> {
    if (this.closed) return Promise.reject(new WarehouseError('the endpoint engine is closed', null));
    return this.on(readonly, (c) => c.run(database, async (session) => {
      // A client that went away while this waited for a connection: never started (chdb's stream started with an aborted
      // signal cancelled on the main thread, which waited for the whole query: a trial's serve froze 8 s, /ping too).
      if (signal?.aborted) throw new WarehouseError('the client went away before its query started: not run', null);
      // chdb checks the signal between blocks only: a query that makes no block for long (an aggregation over a large
      // table) ran on after its client left, holding a reader until its time limit (a trial: two interrupted `edgelat
      // sql` reads through a read-only port, whose KILL it refuses, blocked every read). Marked, it is killed by the mark.
      const mark = `${QUERY_MARK}${randomUUID()}`;
      const kill = () => void this.killMarked(mark);
      if (stopRunning) signal?.addEventListener('abort', kill, { once: true });
      try {
        return await streamStatement(session, `/* ${mark} */\n${sql}`, params, format, onChunk, stopRunning ? signal : undefined);
      } catch (error) {
        await releaseFailedStream(session);
        throw error;
      } finally {
        signal?.removeEventListener('abort', kill);
      }
    }, settings));
  }

  /**
   * Cancel the query whose text carries `mark` (`KILL QUERY … ASYNC` from a connection of its own: the query's
   * connection is busy with it). Best effort: a failure is ignored (the query then ends at its time limit).
   */
  private async killMarked(mark: string): Promise<void> {
    if (this.closed) return;
    let killer: { session: Session; release(): void } | null = null;
    try {
      killer = openConnection(this.path, {});
      const session = killer.session;
      await chdbCall(() => session.queryBindAsync('KILL QUERY WHERE position(query, {mark:String}) > 0 AND query_id != queryID() ASYNC', { mark }, { format: 'TSV' }));
    } catch {
      // Nothing more to do.
    } finally {
      killer?.release();
    }
  }

  insert(request: EngineInsert): Promise<EngineInsertResult> {
    const format = INSERT_FORMATS.find((f) => f.toLowerCase() === request.format.toLowerCase());
    if (!format) {
      return Promise.reject(new WarehouseError(`Code: 73. DB::Exception: insert format ${JSON.stringify(request.format)} is not supported by the edgelat endpoint; use one of ${INSERT_FORMATS.join(', ')}. (UNKNOWN_FORMAT)`, 73));
    }
    if (this.closed) return Promise.reject(new WarehouseError('the endpoint engine is closed', null));
    return this.writer.run(request.database ?? 'default', async (session) => {
      if (request.signal?.aborted) throw new WarehouseError('the client went away before its insert started: not run', null);
      const summary = await chdbCall(() => session.insert({ table: request.table, values: request.body, format, columns: request.columns, settings: request.settings }));
      return { writtenRows: summary.rowsWritten, writtenBytes: summary.bytesWritten };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.readers.readers) await r.close();
    await this.writer.close();
  }
}
