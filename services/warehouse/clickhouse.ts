import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, ClickHouseLogLevel, type DataFormat } from '@clickhouse/client';
import { errorWithoutUrlParts, type Login, scrubSecrets, urlForMessages, WarehouseError, withoutUrlParts } from '../../errors.ts';
import { applyMigrations, assertIdentifier, MIGRATIONS_DIR } from './migrations.ts';
import { parseTypedRows, TYPED_ROWS_FORMAT, rowsToJsonCompact, rowToJson } from './json.ts';
import { exceptionFirstLine, type InsertOptions, type QueryParam, type Warehouse } from './types.ts';

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
  /**
   * Input format of `insert`: `JSONCompactEachRow` (column names once per block,
   * one array per row) or `JSONEachRow` (one object per row). A block whose rows
   * do not share one key set is sent as JSONEachRow either way; see
   * `ClickHouseWarehouse.insert` for the measured difference.
   * @default 'JSONCompactEachRow'
   */
  insertFormat?: InsertFormat;
  /** ClickHouse's `readonly` for every request (1: reads only; 2: reads and settings); writes fail with code 164 READONLY. @default none (the user's own) */
  readonly?: 1 | 2;
}

/** Input formats `ClickHouseWarehouse.insert` can send; both keep bigint exact and DateTime64(3) text unchanged. */
export type InsertFormat = 'JSONCompactEachRow' | 'JSONEachRow';

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
 * A gateway's answer in place of ClickHouse's (a proxy, load balancer or ingress in front of it: 502, 503 or 504, or
 * their words): ClickHouse behind it is down or restarting, as in an outage, so it is retried. The client keeps only the
 * body of a failed answer, not its status, so its text tells (a trial: a proxy's 502 "upstream answer dropped" ended
 * the sink at once).
 */
const GATEWAY = /\b50[234]\b|bad gateway|service (temporarily )?unavailable|gateway time-?out|upstream/i;

/** A failure to connect at all (no server there, no route, a host name that does not resolve), not one mid-request. */
const UNREACHABLE = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/;

/**
 * Wrap a client failure as WarehouseError: `code` is the server's ClickHouse code
 * when known; `retriable` for network errors, timeouts, a gateway's 502/503/504 ({@link GATEWAY}) and {@link RETRIABLE_CODES}.
 * @param server  The server's URL (EDGELAT_CLICKHOUSE_URL): a failure to connect names it and the
 *                setting, not the statement (a trial read "statement failed: connect ECONNREFUSED" as a bad query).
 * @param sentLogin  The login sent with it (EDGELAT_CLICKHOUSE_USER/PASSWORD): a proxy's answer that echoes it is
 *                redacted ({@link withoutUrlParts}). @default none
 */
export function toWarehouseError(error: unknown, what: string, serverUrl?: string, sentLogin: Login = {}): WarehouseError {
  // Shown as every other URL: scheme, host and port; a path (a proxy's prefix may be a secret) as "…" (a trial).
  const server = serverUrl === undefined ? undefined : urlForMessages(serverUrl);
  if (error instanceof WarehouseError) return error;
  const e = error as { message?: unknown; code?: unknown };
  // A proxy's answer may echo the request: the URL's path and query (secrets) are cut from it first.
  const message = serverUrl === undefined ? String(e?.message ?? error) : withoutUrlParts(String(e?.message ?? error), serverUrl, sentLogin);
  const cause = serverUrl === undefined ? error : errorWithoutUrlParts(error, serverUrl, sentLogin);
  let code: number | null = null;
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) code = Number(e.code);
  else if (/Code: (\d+)/.test(message)) code = Number(/Code: (\d+)/.exec(message)![1]);
  const network = code === null && (NETWORK.test(message) || (typeof e?.code === 'string' && NETWORK.test(e.code)));
  const gateway = code === null && !network && GATEWAY.test(message);
  const retriable = network || gateway || (code !== null && RETRIABLE_CODES.has(code));
  const first = scrubSecrets(exceptionFirstLine(message).trim());
  // No ClickHouse code (ClickHouse's errors all carry "Code: N") and no network error: some other HTTP server's answer
  // (a trial: a 404's {"error":"not found"} read as a failed query, naming neither the URL nor the setting; a proxy's
  // plain-text 401 read "query failed: Unauthorized"), or an answer the client could not read.
  const foreign = code === null && !network && !gateway && !(error instanceof TypeError || error instanceof RangeError) && !/abort/i.test(message);
  // A login refused, by ClickHouse (516 AUTHENTICATION_FAILED) or by a proxy in front of it.
  const login = code === 516 || (foreign && /unauthori[sz]ed|\b40[13]\b|forbidden|authenticat/i.test(message))
    ? ': check EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD (the login the server, or a proxy in front of it, expects)' : '';
  const text = gateway
    ? `a proxy or load balancer answered in place of ClickHouse (${JSON.stringify(scrubSecrets(message.replace(/\s+/g, ' ').trim()).slice(0, 80))}): ClickHouse behind it is unavailable`
    : foreign
    ? `the server's answer is not ClickHouse's (${first === '' ? 'empty' : JSON.stringify(first.slice(0, 60))})${login ? `${server === undefined ? '' : ` at ${JSON.stringify(server)}`}${login}` : `: is EDGELAT_CLICKHOUSE_URL${server === undefined ? '' : ` (${JSON.stringify(server)})`} the HTTP interface of a ClickHouse server (port 8123)?`}`
    : `${first}${login}`;
  if (server !== undefined && code === null && (UNREACHABLE.test(message) || (typeof e?.code === 'string' && UNREACHABLE.test(e.code)))) {
    return new WarehouseError(`EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at ${JSON.stringify(server)} (${first})`, null, { retriable, cause });
  }
  // Mid-request network failures (a server that accepts the connection and never answers: "Timeout error"; one that
  // closes it: "socket hang up") name the server too (a re-test: the message named neither).
  const at = server !== undefined && network ? ` (ClickHouse at ${JSON.stringify(server)}, EDGELAT_CLICKHOUSE_URL)` : '';
  return new WarehouseError(`${what} failed: ${text}${at}`, code, { retriable, cause });
}

/**
 * Whether an answer's headers are a ClickHouse server's: it sends `X-ClickHouse-*` headers (query id, summary, format,
 * timezone) with every answer; another HTTP server that answers 200 does not. A trial: a server answering every request
 * with an empty 200 was taken for ClickHouse: `migrate` "applied" 11 migrations and `pipeline run` committed 98,497
 * records written nowhere.
 */
export function isClickHouseAnswer(headers: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase().startsWith('x-clickhouse-'));
}

/** Bytes {@link drainEagerly} queues ahead of its consumer before it pauses the stream, and resumes it below a quarter of. */
const EAGER_QUEUE_BYTES = 16 << 20;

/**
 * Consume a readable as it arrives, handing its chunks to `onChunk` one at a time (awaited, in order), with up to
 * {@link EAGER_QUEUE_BYTES} read ahead: a stream that errors is destroyed with what it had buffered, so chunks the
 * consumer had not taken yet (a server's exception written just before it cut the answer short) were lost to a slow
 * consumer (a test under load: "aborted" where the exception had been sent). Chunks read before an error are handed
 * on, then the error is thrown.
 * @param stream   The readable (an HTTP answer's body).
 * @param onRead   Called with each chunk as it is read, before it is queued (for a tail kept of what came).
 * @param onChunk  The consumer; its throw destroys the stream and is thrown.
 */
export async function drainEagerly(stream: Readable, onRead: (chunk: Buffer) => void, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failed: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  stream.on('data', (chunk: Buffer) => {
    onRead(chunk);
    queue.push(chunk);
    queued += chunk.length;
    if (queued > EAGER_QUEUE_BYTES) stream.pause();
    poke();
  });
  stream.once('end', () => { ended = true; poke(); });
  stream.once('error', (error: unknown) => { failed = { error }; poke(); });
  for (;;) {
    const chunk = queue.shift();
    if (chunk !== undefined) {
      queued -= chunk.length;
      if (stream.isPaused() && !ended && failed === null && queued < EAGER_QUEUE_BYTES / 4) stream.resume();
      try {
        await onChunk(chunk);
      } catch (error) {
        stream.destroy();
        throw error;
      }
      continue;
    }
    if (failed !== null) throw (failed as { error: unknown }).error;
    if (ended) return;
    await new Promise<void>((resolve) => { wake = resolve; });
  }
}

/** Start of the SQL comment that marks a streamed read (its marker and the comment's end follow). */
const RUNNING_MARK = '/* edgelat read ';

/** Bytes of a streamed answer's end kept to find an exception the server wrote into it. */
const STREAM_TAIL_BYTES = 8192;

/**
 * The exception a ClickHouse server wrote into the end of a streamed answer it then cut short, or null: the last
 * `Code: N. DB::Exception: …` line of `tail` (after ClickHouse's `__exception__` marker where it sends one).
 * @param tail  The last bytes received.
 * @returns The exception's code, its line (without the version suffix) and the byte offset in `tail` where it starts
 *          (with the line break and `__exception__` marker before it), or null when there is none.
 */
export function midStreamException(tail: Uint8Array): { code: number; text: string; start: number } | null {
  const text = Buffer.from(tail).toString('latin1');
  const all = [...text.matchAll(/(?:\r?\n)?(?:__exception__\r?\n(?:[^\r\n]*\r?\n)??)?Code: (\d+)\. DB::Exception: ([^\r\n]*)/g)];
  const last = all.at(-1);
  if (!last) return null;
  const line = Buffer.from(`Code: ${last[1]}. DB::Exception: ${last[2]}`, 'latin1').toString('utf8');
  return { code: Number(last[1]), text: line.replace(/\s*\(version [^)]*\)\s*$/, '').trim(), start: last.index };
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
  private readonly insertFormat: InsertFormat;
  /** The server's URL, for the message of a failure to connect. */
  private readonly url: string;
  private closed = false;
  /** Set once an answer carried ClickHouse's headers ({@link isClickHouseAnswer}); checked until then. */
  private identified = false;
  /** Markers of the streamed reads under way (each read's text carries its own: {@link cancelRunning} kills by it). */
  private readonly running = new Set<string>();
  /** The login sent to the server, redacted from its answers quoted in errors. */
  private readonly login: Login;

  /** @throws {RangeError} if `database` is not a plain identifier or `insertFormat` is not an {@link InsertFormat}. */
  constructor(options: ClickHouseWarehouseOptions) {
    this.database = assertIdentifier(options.database ?? 'edgelat');
    this.migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
    this.insertFormat = options.insertFormat ?? 'JSONCompactEachRow';
    this.url = options.url;
    this.login = { user: options.username ?? 'default', password: options.password ?? '' };
    if (this.insertFormat !== 'JSONCompactEachRow' && this.insertFormat !== 'JSONEachRow') {
      throw new RangeError(`insertFormat: expected 'JSONCompactEachRow' or 'JSONEachRow', got ${JSON.stringify(this.insertFormat)}`);
    }
    // A path is a proxy's prefix, sent as the path (the client would read it as the database and send none: a trial's
    // /system queried the system database, with the client's warning on stderr; the database is EDGELAT_DATABASE),
    // as given: a trailing `/` stays (a proxy that routes /ch/ alone; a trial's /proxy/ch/ was sent as /proxy/ch).
    const parsed = new URL(options.url);
    const pathname = parsed.pathname === '/' ? '' : parsed.pathname;
    this.client = createClient({
      url: pathname === '' ? options.url : parsed.origin,
      ...(pathname === '' ? {} : { pathname }),
      username: options.username ?? 'default',
      password: options.password ?? '',
      database: 'default',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      keep_alive: { enabled: true, idle_socket_ttl: options.idleSocketTtlMs ?? 2_500 },
      // Failures reach the caller as WarehouseError (and the sink logs its retries): no second report on the console.
      log: { level: ClickHouseLogLevel.OFF },
      compression: { request: false, response: false },
      clickhouse_settings: { date_time_output_format: 'simple', ...(options.readonly ? { readonly: String(options.readonly) as '1' | '2' } : {}) },
      // Rows arrive already serialized by rowsToJsonCompact / rowToJson (exact bigint, NaN refused): pass them through.
      json: { parse: JSON.parse, stringify: (input: unknown) => (typeof input === 'string' ? input : rowToJson(input as Record<string, unknown>)) },
    });
  }

  async migrate(): Promise<string[]> {
    return applyMigrations(this, this.migrationsDir);
  }

  /**
   * Insert `rows` as one block, in {@link ClickHouseWarehouseOptions.insertFormat}
   * (JSONCompactEachRow unless configured; JSONEachRow for a block whose rows do
   * not share one key set).
   *
   * Why JSONCompactEachRow: `npm run bench:insert` (bench/insert-format.ts;
   * 71,909 enriched rows in blocks of 4096 through @clickhouse/client into
   * `edgelat serve` on chdb, formats interleaved block by block, 2 shared cores)
   * measured JSONEachRow 23,416 rows/s (599 B/row), JSONCompactEachRow 37,278
   * rows/s (283 B/row, 1.59×) and TabSeparated 29,031 rows/s (255 B/row, 1.24×,
   * with hand-written escaping); over four runs JSONCompactEachRow was 1.46–1.59×
   * JSONEachRow and TabSeparated 1.04–1.51×. Every format gave the same table
   * (count and `sum(cityHash64(*))`) and exact UInt64 above 2^53 and DateTime64(3).
   * RowBinary was not a candidate: the client's `insert` refuses it and the
   * endpoint's engine (chdb raw insert) takes text formats only.
   * @param table   `db.table`.
   * @param rows    Objects keyed by column name; DateTime64 as ClickHouse text, bigint exact.
   * @param options `dedupToken` becomes `insert_deduplication_token`.
   * @throws {RangeError} naming the column when a value is NaN or ±Infinity (nothing is sent).
   * @throws {WarehouseError} when the server refuses the insert or cannot be reached; `retriable` per {@link RETRIABLE_CODES}.
   */
  async insert(table: string, rows: readonly Record<string, unknown>[], options: InsertOptions = {}): Promise<void> {
    this.assertOpen();
    if (rows.length === 0) return;
    // Both serialisers throw RangeError before anything is sent.
    const compact = this.insertFormat === 'JSONCompactEachRow' ? rowsToJsonCompact(rows) : null;
    const objects = compact ? null : rows.map(rowToJson);
    // A block may span many monthly partitions (a backfill): no cap on parts per insert.
    const settings: Record<string, string | number> = { deduplicate_blocks_in_dependent_materialized_views: 1, max_partitions_per_insert_block: 0 };
    if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
    try {
      let result: { response_headers: Record<string, unknown> };
      if (compact) {
        // Backquoted: a column may be a keyword (late_events.offset); the key check allows plain identifiers only.
        const columns = compact.columns.map((c) => `\`${c}\``) as [string, ...string[]];
        result = await this.client.insert({ table, values: compact.lines, format: 'JSONCompactEachRow', columns, clickhouse_settings: settings });
      } else {
        result = await this.client.insert({ table, values: objects!, format: 'JSONEachRow', clickhouse_settings: settings });
      }
      this.assertClickHouse(result.response_headers);
    } catch (error) {
      throw toWarehouseError(error, `insert into ${table}`, this.url, this.login);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, QueryParam> = {}): Promise<T[]> {
    return parseTypedRows<T>(await this.queryText(sql, params, TYPED_ROWS_FORMAT));
  }

  async queryText(sql: string, params: Record<string, QueryParam> = {}, format = 'JSONEachRow'): Promise<string> {
    const chunks: Buffer[] = [];
    await this.streamText(sql, params, format, (chunk) => void chunks.push(Buffer.from(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  }

  async streamText(sql: string, params: Record<string, QueryParam>, format: string, onChunk: (chunk: Uint8Array) => Promise<void> | void, options: { cancellable?: boolean } = {}): Promise<void> {
    this.assertOpen();
    let running: string | null = null;
    try {
      // exec() rather than query(): the format is any ClickHouse format name, and 64-bit integers stay unquoted for exact parsing.
      // The format is the server's default_format, not an appended FORMAT clause: a statement without
      // output (INSERT … VALUES, CREATE) stays valid, and a FORMAT clause of the query's own wins (as in chdb).
      // A comment with a marker of its own, after the statement (syntax error positions stay the user's), so that
      // cancelRunning can find it in system.processes: a server and this endpoint take a query_id, but the embedded
      // engine behind `edgelat serve` runs under ids of its own.
      const statement = sql.trim().replace(/;$/, '');
      // Never an INSERT: its inline data (VALUES, FORMAT …) would take the comment in.
      if (options.cancellable && !/^\s*INSERT\b/i.test(statement)) {
        running = randomUUID();
        this.running.add(running);
      }
      const result = await this.client.exec({
        query: running === null ? statement : `${statement}\n${RUNNING_MARK}${running} */`,
        query_params: params as Record<string, unknown>,
        // The client types default_format as the formats it parses; the server takes any format name (PrettyCompact…).
        clickhouse_settings: { default_format: format as DataFormat, output_format_json_quote_64bit_integers: 0 },
      });
      if (!this.identified && !isClickHouseAnswer(result.response_headers)) {
        result.stream.destroy();
        this.assertClickHouse(result.response_headers);
      }
      this.identified = true;
      // The end of what came, to find the server's exception in: ClickHouse writes an error met mid-stream into the body
      // and ends the response short, which the client reports as "aborted" (a trial: throwIf's code 395 was lost).
      // The last STREAM_TAIL_BYTES are held back until the answer ends, so that an exception there goes to the error,
      // not to the caller's output as if it were rows (a re-test: a JSON-lines file ended with ClickHouse's message).
      let held = Buffer.alloc(0);
      try {
        await drainEagerly(result.stream, () => undefined, async (chunk) => {
          held = Buffer.concat([held, chunk]);
          if (held.length <= STREAM_TAIL_BYTES) return;
          const out = held.subarray(0, held.length - STREAM_TAIL_BYTES);
          held = Buffer.from(held.subarray(held.length - STREAM_TAIL_BYTES));
          await onChunk(out);
        });
      } catch (error) {
        const sent = midStreamException(held);
        if (sent === null) {
          if (held.length > 0) await Promise.resolve(onChunk(held)).catch(() => undefined);
          // The connection cut before the answer ended, with no exception in it: the server went away (or a proxy cut it).
          if (/^aborted$|socket hang up|ECONNRESET/i.test(String((error as Error)?.message))) {
            throw new WarehouseError(`query failed: the connection to ClickHouse at ${JSON.stringify(urlForMessages(this.url))} (EDGELAT_CLICKHOUSE_URL) was cut before the answer ended, with no error in it: the server stopped, or something between cut it`, null, { cause: error });
          }
          throw error;
        }
        if (sent.start > 0) await Promise.resolve(onChunk(held.subarray(0, sent.start))).catch(() => undefined);
        throw new WarehouseError(`query failed: ${sent.text}`, sent.code, { cause: error });
      }
      if (held.length > 0) await onChunk(held);
    } catch (error) {
      throw error instanceof WarehouseError ? error : toWarehouseError(error, 'query', this.url, this.login);
    } finally {
      if (running !== null) this.running.delete(running);
    }
  }

  /**
   * Ask the server to stop the streamed reads of this warehouse under way (`KILL QUERY … ASYNC`, by the marker each
   * one's text carries): a client that goes away (Ctrl-C) does not stop a server's query, which then holds one of its
   * connections until its time limit (a trial: two interrupted `edgelat sql` reads blocked every read of `edgelat
   * serve`'s port for minutes). Best effort: a failed KILL is not an error of the caller's.
   * @returns The reads it asked to stop.
   */
  async cancelRunning(): Promise<number> {
    const markers = [...this.running];
    await Promise.all(markers.map(async (m) => {
      const kill = (settings: Record<string, string>) => this.client.command({
        query: `KILL QUERY WHERE query LIKE {mark:String} AND query NOT LIKE 'KILL%' ASYNC`,
        query_params: { mark: `%${RUNNING_MARK}${m} */%` },
        clickhouse_settings: settings,
      });
      // ClickHouse runs KILL QUERY whatever readonly says; `edgelat serve`'s port refuses it under readonly=1, which this
      // warehouse's reads send: asked again without it there (a read-only port refuses that too, and stops the query
      // itself once this process's connection closes).
      const refusedReadonly = (error: unknown): boolean => {
        const e = error as { code?: unknown; type?: unknown; message?: unknown } | null;
        return String(e?.code) === '164' || e?.type === 'READONLY' || /\bREADONLY\b|Code: 164\b/.test(String(e?.message));
      };
      await kill({}).catch((error: unknown) => (refusedReadonly(error) ? kill({ readonly: '0' }) : undefined)).catch(() => undefined);
    }));
    return markers.length;
  }

  async exec(sql: string, params: Record<string, QueryParam> = {}): Promise<void> {
    this.assertOpen();
    try {
      const result = await this.client.command({ query: sql, query_params: params as Record<string, unknown> });
      this.assertClickHouse(result.response_headers);
    } catch (error) {
      throw toWarehouseError(error, 'statement', this.url, this.login);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  /**
   * Refuse an answer that is not ClickHouse's ({@link isClickHouseAnswer}), until one is.
   * @throws {WarehouseError} (not retriable) naming EDGELAT_CLICKHOUSE_URL and its value.
   */
  private assertClickHouse(headers: Readonly<Record<string, unknown>> | undefined): void {
    if (this.identified) return;
    if (headers === undefined || !isClickHouseAnswer(headers)) {
      throw new WarehouseError(`EDGELAT_CLICKHOUSE_URL: the server at ${JSON.stringify(urlForMessages(this.url))} answered without ClickHouse's X-ClickHouse-* headers: it is not the HTTP interface of a ClickHouse server (port 8123), or a proxy in front of it drops them`, null);
    }
    this.identified = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new WarehouseError('the warehouse is closed', null);
  }
}
