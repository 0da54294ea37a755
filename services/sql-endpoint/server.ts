/**
 * A ClickHouse-compatible HTTP endpoint over the embedded chdb engine, enough
 * for @clickhouse/client, curl and plain HTTP tools (`GET /ping`, `GET|POST /`; a `GET /` without parameters answers
 * `Ok.` as `/ping` does, as ClickHouse's).
 *
 * Behaviour: the statement is the `query` URL parameter followed by a newline
 * and the request body (ClickHouse's rule); `param_<name>` values are bound
 * server-side, never spliced; `database` sets the default database;
 * `default_format` (default TabSeparated) is the output format unless the
 * statement ends with `FORMAT X`. `INSERT INTO t [(cols)] FORMAT X` takes its
 * data from the rest of the request and receives the URL settings
 * (`insert_deduplication_token`, ...). For other statements a URL setting
 * may only restate the value it has (an unknown one: code 115; another value:
 * code 452, naming it: put `SETTINGS` in the query; `max_query_size` excepted, which the endpoint holds the
 * query to itself, up to 16 MiB), `compress=1` and `decompress=1` (ClickHouse's block format) are refused (code 36),
 * and a `SET` statement is
 * refused (code 497): the endpoint's connections are shared by every request.
 * One statement a request, as ClickHouse's parser reads
 * it (`formatQuery`; two: "Multi-statements are not allowed", code 62).
 * GET and HEAD (and a request with the setting `readonly` = 1 or 2) run on the
 * engine's read-only connections, as ClickHouse makes
 * GET read-only: ClickHouse refuses a write, DDL, table function or setting
 * change there (code 164 READONLY, HTTP 403). A POST runs on the writer,
 * except a plain read (`isPlainRead`), which runs on a read-only connection
 * and, where that refuses it (code 164), on the writer. No request writes a file
 * (`INTO OUTFILE`: code 497). A request a browser may have sent for a web page
 * (`browserRefusal`: a Host that is not loopback, an Origin of another site,
 * Sec-Fetch-Site cross-site) is refused (code 497, ACCESS_DENIED, HTTP 403).
 * No authentication: unless `writes` is on (`serve --sql-write`), every request runs read-only, POST too (ClickHouse's
 * readonly = 1: code 164); with it, whoever reaches the port may change the warehouse over POST, and the plain ways
 * out of it are refused (`reachesOutside`: files, URLs, programs, other servers, which chdb, ClickHouse's local mode,
 * would reach with the process's rights: code 497), not every way (values ClickHouse evaluates after any check of the
 * text). On every request a table named by a path is refused (`namesPath`). Bind it to 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, validateHeaderValue, type IncomingMessage } from 'node:http';
import { once, type EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { WarehouseError } from '../../errors.ts';
import type { Registry } from 'prom-client';
import { engineError, executionTimeProblem, memoryProblem, type SqlEngine } from './chdb-engine.ts';
import { createSqlEndpointMetrics, type SqlEndpointMetrics } from './metrics.ts';
import { browserRefusal, canonicalFormat, hostHint, missingHostProblem, compressedBlockFormat, contentType, exceptionText, formatClause, maxQuerySizeOf, parseRawInsert, querySizeProblem, splitParams, statusOf } from './protocol.ts';
import { canonicalStatement, codeOf, EmptyQueryError, formatClause as statementFormat, isPlainRead, isReadonlyRefusal, MultiStatementError, namesPath, outOfRangeParam, reachesOutside, readonlyGap, runsProgram, settingsOf, valuesRest, writesFile } from '../warehouse/statements.ts';
import { exceptionFirstLine } from '../warehouse/types.ts';
import { closeConnectionsOnClose } from '../http-close.ts';

/** ClickHouse's answer to a change over GET. */
const READONLY = 'Code: 164. DB::Exception: Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries. (READONLY)';
/** READONLY for a POST that asked readonly=1|2 in its URL (a trial: told to use POST, which it had). */
const READONLY_ASKED = 'Code: 164. DB::Exception: Cannot execute query in readonly mode: the URL sets readonly (1 or 2). Leave it out of a POST that changes something. (READONLY)';
/**
 * READONLY for a POST to a port that takes no changes (`writes` off): what would lift it, and at what cost.
 */
const READONLY_PORT = 'Code: 164. DB::Exception: Cannot execute query in readonly mode: the ClickHouse port of edgelat serve is read-only (no table function, file() or SETTINGS clause either). Start serve with --sql-write to let a POST change the warehouse, with the serving process\'s rights over its files: only where everyone who can reach the port is trusted (a loopback port is open to every user of the machine); or stop serve and run the command on the folder itself. (READONLY)';
/**
 * READONLY for a read with a SETTINGS clause refused because the URL asked readonly (a trial read readonly=2 as
 * ClickHouse's "reads and settings" level): the endpoint's read-only connections take no setting change, and the
 * engine's own level 2 would let file() and filesystem() through, so 2 is taken as 1.
 */
const READONLY_SETTINGS = 'Code: 164. DB::Exception: Cannot execute query in readonly mode: the URL sets readonly (1 or 2), and a SETTINGS clause changes settings, which the edgelat endpoint\'s read-only connections refuse (readonly 2 is taken as 1: the embedded engine at 2 would read files). Leave readonly out of the URL to run it with its SETTINGS over POST. (READONLY)';

/** Options of {@link createSqlEndpoint}. */
export interface SqlEndpointOptions {
  /** Engine that runs the statements (e.g. `ChdbEngine`); closed with the endpoint. */
  engine: SqlEngine;
  /** pino logger for request failures; silent when omitted. Credentials are never logged. */
  logger?: Logger;
  /** Max request body after decompression, bytes. @default 67108864 (64 MiB) */
  bodyLimitBytes?: number;
  /** Start in the unavailable state (every request but /ping answers 503). @default false */
  unavailable?: boolean;
  /**
   * Host names a request's `Host` may name besides loopback ones (the address `serve --host` listens on);
   * `'any'` when it listens on every interface (0.0.0.0, ::). @default [] (loopback only)
   */
  allowedHosts?: readonly string[] | 'any';
  /** Longest a streamed answer waits for its client to take more, ms (positive integer). @default CLIENT_STALL_MS (30,000) */
  clientStallMs?: number;
  /** Where its metrics are registered (`serve`: the predictor API's, whose `GET /metrics` exports them). @default a new Registry */
  registry?: Registry;
  /** Longest wait for the next byte of a request body, ms (positive integer). @default RECEIVE_TIMEOUT_MS (30,000) */
  receiveTimeoutMs?: number;
  /**
   * Whether a POST may change the warehouse (`serve --sql-write`). Off, every request runs on a read-only connection,
   * where ClickHouse itself refuses a change, a table function, `file()` and a setting change (code 164): the port has
   * no login, and a POST on the writer runs with the process's rights, which no check of a statement's text closes
   * (a security re-test read files through a quoted path taken as a table, functions in INSERT … VALUES data, format()
   * strings and settings that hold SQL or paths). @default true (serve passes its flag, off by default)
   */
  writes?: boolean;
}

/** A fastify instance serving the ClickHouse HTTP interface, plus a fault switch for outage tests. */
export type SqlEndpoint = FastifyInstance & {
  /** Make every request except `GET /ping` answer 503 `Code: 210` (true) or serve again (false). */
  setUnavailable(unavailable: boolean): void;
};

const UNAVAILABLE = 'Code: 210. DB::Exception: service unavailable (edgelat endpoint set unavailable). (NETWORK_ERROR)';

/** Output of a read held before its answer starts, bytes: a read whose output ends within it is answered whole, with a status that tells its failure. */
export const STREAM_AFTER_BYTES = 1 << 20;


/** Largest piece of a streamed answer written at once, bytes: a client must take this much within the stall time (64 KiB in 30 s: about 2 kB/s). */
export const WRITE_SLICE_BYTES = 64 * 1024;

/**
 * Largest request line plus headers the endpoint reads, bytes: a URL up to 1 MiB (ClickHouse's default
 * `http_max_uri_size`, so a GET of a long query is read as ClickHouse reads it) and 64 KiB of headers. Node's default
 * (16 KiB) refused a GET of a 16 KiB query with 431 (a trial). A larger request is answered 431, code 36, saying to
 * send the query in a POST body.
 */
export const MAX_REQUEST_HEAD_BYTES = 1024 * 1024 + 64 * 1024;

/** Default longest wait of a streamed answer for its client to take more of it, ms: the engine's connection is held meanwhile, and reads queued on it wait. */
export const CLIENT_STALL_MS = 30_000;

/**
 * Wait for a writable's `drain`, at most `stallMs`, or until `gone` aborts. A timer and a controller of its own, held
 * until the wait ends: an AbortSignal.any over AbortSignal.timeout lost its timeout in a trial (a client that never read
 * held a connection 3 minutes): on Node 20 such a composite signal can be garbage-collected before it fires. Node stops
 * reading a socket whose response is backed up, so a client's close may go unseen ('close' never comes): the timer is
 * what ends the wait then.
 * @throws {Error} `the client took nothing for N ms` when the timer fires; `gone`'s reason when it aborts.
 */
export async function drainWithin(stream: EventEmitter, stallMs: number, gone: AbortSignal): Promise<void> {
  const wait = new AbortController();
  const timer = setTimeout(() => wait.abort(new Error(`the client took nothing for ${stallMs} ms`)), stallMs);
  const onGone = () => wait.abort(gone.reason);
  gone.addEventListener('abort', onGone, { once: true });
  try {
    if (gone.aborted) throw gone.reason;
    await once(stream, 'drain', { signal: wait.signal }).catch((error: unknown) => {
      throw wait.signal.aborted ? wait.signal.reason : error;
    });
  } finally {
    clearTimeout(timer);
    gone.removeEventListener('abort', onGone);
  }
}

/**
 * Write `chunk` to `stream` in slices of {@link WRITE_SLICE_BYTES}, waiting for `drain` ({@link drainWithin}) where the
 * stream is backed up: each wait then times one slice, so a client that reads slowly but steadily is not taken for one
 * that reads nothing (a trial's reader at 20 kB/s was cut off after 30 s: the drain of a whole 1 MiB block took 50 s).
 * @throws {Error} as {@link drainWithin}: the client took nothing of a slice for `stallMs`, or `gone` aborted.
 */
export async function writeWithin(stream: Writable, chunk: Uint8Array, stallMs: number, gone: AbortSignal): Promise<void> {
  for (let at = 0; at < chunk.length; at += WRITE_SLICE_BYTES) {
    if (stream.write(chunk.subarray(at, at + WRITE_SLICE_BYTES))) continue;
    await drainWithin(stream, stallMs, gone);
  }
}

/**
 * ClickHouse's X-ClickHouse-Summary of a statement answered as a read (its body inserted nothing): rows and bytes of the
 * output so far. `result_rows` is left out where the
 * rows are not known (`resultRows` null: an answer made whole in a format whose text does not tell them; it had said "0"
 * for a JSON answer of rows: a trial). `read_rows`, `read_bytes` and `total_rows_to_read` are left out: chdb's
 * rowsRead and bytesRead are those of the result, not of the tables read (count() over 100,000 rows: 1), and a trial's
 * client read "12 rows read" off a query over 71,582.
 */
function readSummary(resultRows: number | null, resultBytes: number, readsOnly: boolean): string {
  // written_rows 0 for a read only: a statement that may write (INSERT … VALUES, INSERT … SELECT, DDL) has none, as chdb
  // does not tell how much (a re-test: "written_rows":"0" beside the 2 rows an INSERT … VALUES stored).
  return JSON.stringify({ ...(readsOnly ? { written_rows: '0', written_bytes: '0' } : {}), ...(resultRows === null ? {} : { result_rows: String(resultRows) }), result_bytes: String(resultBytes) });
}

/**
 * Answer a read as its output comes, as ClickHouse's HTTP interface does: the first `STREAM_AFTER_BYTES` are held, so a
 * read that ends within them is answered whole (Content-Length, its whole X-ClickHouse-Summary; a failure gets its own
 * status by `fail`); a longer one is sent chunked from there on, at the pace its client reads (at most one engine block
 * ahead), its summary counting the output up to then. A failure after the answer started is written at the end of the
 * body, as ClickHouse writes it, and the connection is closed without the chunked stream's end, so that a client sees an
 * incomplete answer (curl: exit 18), not a whole one. A client that goes away stops the query (between engine blocks);
 * one that takes nothing for `stallMs` is cut off (logged), so that it does not hold the engine's connection.
 * @param headers  Headers of a successful answer besides those set on `reply` (format, content type).
 * @param queryId  The request's query id, for the log.
 * @param stallMs  Longest wait for the client to take more, ms.
 * @param metrics  Counts the answer's bytes, and a streamed answer cut short (the endpoint's onResponse hook counts the others).
 * @param readsOnly  Whether the statement only reads (its summary then says written_rows 0).
 * @param run      Runs the statement, handing its output to `onChunk` (engine.stream).
 */
async function answerRead(reply: FastifyReply, headers: Record<string, string>, fail: (error: unknown) => FastifyReply, logger: Logger | undefined, queryId: string, stallMs: number, metrics: SqlEndpointMetrics, readsOnly: boolean,
  run: (onChunk: (chunk: Uint8Array, rows: number | null) => Promise<void>, signal: AbortSignal) => Promise<unknown>): Promise<FastifyReply> {
  const res = reply.raw;
  const gone = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
  };
  res.on('close', onClose);
  // Gone already (while its parse check waited for a connection): 'close' came before this listener (a re-test: its
  // query then ran to the end on a reader).
  if (res.closed || res.destroyed) onClose();
  const held: Uint8Array[] = [];
  let rows: number | null = 0;
  let bytes = 0;
  let streaming = false;
  let stalled = false;
  const write = (chunk: Uint8Array) => writeWithin(res, chunk, stallMs, gone.signal).catch((error: unknown) => {
    stalled = !gone.signal.aborted;
    throw error;
  });
  try {
    await run(async (chunk, n) => {
      rows = rows === null || n === null ? null : rows + n;
      bytes += chunk.length;
      if (streaming) return write(chunk);
      held.push(chunk);
      if (bytes < STREAM_AFTER_BYTES) return;
      streaming = true;
      reply.hijack();
      res.writeHead(200, { ...reply.getHeaders(), ...headers, 'X-ClickHouse-Summary': readSummary(rows, bytes, readsOnly) } as Record<string, string>);
      for (const c of held.splice(0)) await write(c);
    }, gone.signal);
    if (!streaming) {
      metrics.resultBytes.inc({ method: reply.request.method }, bytes);
      return reply.header('X-ClickHouse-Summary', readSummary(rows, bytes, readsOnly)).headers(headers).send(Buffer.concat(held));
    }
    res.end();
  } catch (error) {
    if (!streaming) return fail(error);
    if (stalled) logger?.warn({ queryId, stallMs, bytes }, 'sql endpoint: the client took nothing of a streamed answer for too long; cut off');
    if (gone.signal.aborted || stalled) {
      res.destroy();
    } else {
      const e = engineError(error);
      const code = e.code ?? 1001;
      res.write(`\n${exceptionText(code, e.message)}`, () => res.destroy());
    }
  } finally {
    res.off('close', onClose);
    if (streaming) metrics.resultBytes.inc({ method: reply.request.method }, bytes);
    // Fastify's onResponse runs on 'finish' or 'error', not on a response destroyed: count a stream cut short here.
    if (streaming && !res.writableFinished) {
      const labels = { method: reply.request.method, status: 'cut' };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, reply.elapsedTime / 1000);
    }
  }
  return reply;
}

/**
 * Answer a request Node's HTTP parser refused (garbage, conflicting Content-Length, headers too large, too slow) as
 * ClickHouse text with its code in `X-ClickHouse-Exception-Code`, as every other answer of this port (a trial: Fastify's
 * JSON `{"error":"Bad Request","message":"Client Error"}`), then close the connection.
 */
function clickhouseClientError(error: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, what] = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 209, 'the request did not arrive whole in time. (SOCKET_TIMEOUT)']
    : error.code === 'HPE_HEADER_OVERFLOW' ? [431, 36, `the request's URL and headers are larger than the endpoint reads (${MAX_REQUEST_HEAD_BYTES} bytes: a URL up to 1 MiB, as ClickHouse's http_max_uri_size, and 64 KiB of headers): send a long query in the POST body (curl --data-binary @query.sql), which may be up to the body limit (64 MiB). (BAD_ARGUMENTS)`]
      : [400, 36, `malformed HTTP request (${error.code ?? 'parse error'}${error.reason ? `: ${error.reason}` : ''}). (BAD_ARGUMENTS)`];
  const body = exceptionText(code, `Code: ${code}. DB::Exception: ${what}`);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=UTF-8\r\nX-ClickHouse-Exception-Code: ${code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}

/** How many times the body limit a body over it is read (and dropped) before its connection is cut. */
const DRAIN_FACTOR = 4;

/**
 * Read a request body, gunzipping/inflating per `Content-Encoding`, up to `limit` bytes (decoded). A body over it is
 * read to its end and dropped, then refused (413, code 307), unless it goes past {@link DRAIN_FACTOR} times the limit:
 * then its connection is cut.
 */
/** Longest wait for the next byte of a request body on the SQL port, ms (ClickHouse's http_receive_timeout, 30 s). */
export const RECEIVE_TIMEOUT_MS = 30_000;

async function readBody(request: FastifyRequest, payload: Readable, limit: number, receiveTimeoutMs: number): Promise<Buffer> {
  const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase();
  let source: Readable = payload;
  if (encoding === 'gzip' || encoding === 'x-gzip') source = payload.pipe(createGunzip());
  else if (encoding === 'deflate') source = payload.pipe(createInflate());
  else if (encoding !== '' && encoding !== 'identity') {
    throw Object.assign(new Error(`Code: 1. DB::Exception: unsupported Content-Encoding ${JSON.stringify(encoding)}; use gzip or deflate. (UNSUPPORTED_METHOD)`), { statusCode: 415 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // No byte of the body for receiveTimeoutMs: the client stalled (ClickHouse's http_receive_timeout). Answered 408 and
  // the connection closed after it (a trial: a partial body held its connection, unanswered, for 170 s and more, and
  // kept `serve` from stopping on SIGTERM).
  let idle: NodeJS.Timeout | undefined;
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Each wait for the next chunk has its own time limit.
      const stalled = new Promise<never>((_, reject) => {
        idle = setTimeout(() => reject(Object.assign(new Error(`Code: 209. DB::Exception: no byte of the request body came for ${receiveTimeoutMs / 1000} s (${size} byte(s) read): the client stalled; send the body at once, or in several requests. (SOCKET_TIMEOUT)`), { statusCode: 408, stalled: true })), receiveTimeoutMs);
      });
      const next = await Promise.race([iterator.next(), stalled]).finally(() => clearTimeout(idle));
      if (next.done) break;
      const chunk = next.value as Buffer;
      size += (chunk as Buffer).length;
      // Past the limit the rest is read and dropped, so that the client gets the 413 (a trial: a chunked or gzip body
      // over it saw the connection reset); past DRAIN_FACTOR times the limit (a gzip bomb) the connection is cut.
      if (size > limit * DRAIN_FACTOR) {
        payload.destroy();
        if (source !== payload) source.destroy();
        break;
      }
      if (size <= limit) chunks.push(chunk as Buffer);
    }
    if (size > limit) {
      chunks.length = 0;
      throw Object.assign(new Error(`Code: 307. DB::Exception: request body is larger than ${limit} bytes${source === payload ? '' : ` (${encoding}-decoded)`}: the edgelat endpoint reads a body whole; send the rows in several requests. (TOO_MANY_BYTES)`), { statusCode: 413 });
    }
  } catch (error) {
    if ((error as { stalled?: boolean }).stalled) {
      // The rest of the body is not waited for: the answer goes out and the connection closes after it.
      (request as unknown as { closeAfterAnswer?: boolean }).closeAfterAnswer = true;
    }
    // A body that is not what its Content-Encoding says is the client's mistake: 400 naming it, not a 500 of code 1001
    // with zlib's words alone (a trial: `-H 'Content-Encoding: gzip' -d notgzip`).
    const zlibCode = (error as NodeJS.ErrnoException).code;
    if (source !== payload && typeof zlibCode === 'string' && zlibCode.startsWith('Z_')) {
      throw Object.assign(new Error(`Code: 354. DB::Exception: the request body is not valid ${encoding} data (Content-Encoding: ${encoding}): ${(error as Error).message} (${zlibCode}). (ZLIB_INFLATE_FAILED)`), { statusCode: 400 });
    }
    throw error;
  }
  return Buffer.concat(chunks);
}

/**
 * Create (not start) the endpoint; call `listen({ port, host })` on the result.
 * Closing the fastify instance closes the engine.
 * @throws {RangeError} if `bodyLimitBytes` is not a positive integer.
 * @example see test/integration/warehouse-conformance.test.ts
 */
export function createSqlEndpoint(options: SqlEndpointOptions): SqlEndpoint {
  const limit = options.bodyLimitBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`bodyLimitBytes: expected a positive integer, got ${JSON.stringify(limit)}`);
  const { engine, logger } = options;
  const writes = options.writes ?? true;
  /** The engine's advice to POST a SETTINGS clause, on a read-only port: that needs --sql-write (a new user's trial followed it into a 403). */
  const readOnlyAdvice = (message: string): string => (writes ? message
    : message.replace('and send it with POST (GET is read-only: no setting changes)', 'and send it with POST to a serve started with --sql-write (this port is read-only: no setting changes)'));
  const allowedHosts = options.allowedHosts ?? [];
  const stallMs = options.clientStallMs ?? CLIENT_STALL_MS;
  if (!Number.isSafeInteger(stallMs) || stallMs <= 0) throw new RangeError(`clientStallMs: expected a positive integer of ms, got ${JSON.stringify(stallMs)}`);
  const metrics = createSqlEndpointMetrics(options.registry);
  let unavailable = options.unavailable ?? false;
  // requireHostHeader off: an HTTP/1.1 request without Host is answered 400 with an exception by the onRequest hook (Node's own was a bare 400).
  const app = Fastify({ logger: false, bodyLimit: limit, clientErrorHandler: (error: NodeJS.ErrnoException & { reason?: string }, socket: Duplex) => {
    // Logged too (a re-test: counted in /metrics only, even at debug).
    logger?.debug({ code: error.code ?? null }, 'sql endpoint connection answered outside the routes');
    clickhouseClientError(error, socket);
  }, http: { maxHeaderSize: MAX_REQUEST_HEAD_BYTES, requireHostHeader: false } }) as unknown as SqlEndpoint;
  app.setUnavailable = (flag: boolean) => {
    unavailable = flag;
  };
  // CONNECT (a proxy's tunnel) never reaches a route: Node closed the connection without a word (a re-test).
  app.server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    const body = exceptionText(36, 'Code: 36. DB::Exception: method CONNECT is not allowed: this endpoint is no proxy. (BAD_ARGUMENTS)');
    socket.end(`HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: text/plain; charset=UTF-8\r\nX-ClickHouse-Exception-Code: 36\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    metrics.requests.inc({ method: 'CONNECT', status: '405' });
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (request: FastifyRequest, payload: IncomingMessage) => readBody(request, payload, limit, options.receiveTimeoutMs ?? RECEIVE_TIMEOUT_MS));
  app.addHook('onClose', async () => engine.close());
  closeConnectionsOnClose(app);
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    logger?.debug({ queryId: reply.getHeader('X-ClickHouse-Query-Id'), ...labels, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'sql endpoint request');
  });

  // A web page may make the browser send a request here (a GET by an <img>, a POST by a form): refused on every
  // path and method before its body is read, so that no answer (/ping's "Ok.", a 404's text) tells the page edgelat runs here.
  app.addHook('onRequest', async (request, reply) => {
    const hostless = missingHostProblem(request.raw);
    if (hostless !== null) {
      return reply.status(400).header('X-ClickHouse-Exception-Code', '36').type('text/plain; charset=UTF-8').send(exceptionText(36, `Code: 36. DB::Exception: ${hostless}. (BAD_ARGUMENTS)`));
    }
    const browser = browserRefusal(request.headers, allowedHosts);
    if (browser === null) return;
    const message = `Code: 497. DB::Exception: a request a browser may have sent for a web page (${browser}): the edgelat endpoint has no authentication, so it answers clients outside a browser only${hostHint(browser)}. (ACCESS_DENIED)`;
    return reply.status(403).header('X-ClickHouse-Exception-Code', '497').type('text/plain; charset=UTF-8').send(exceptionText(497, message));
  });

  // A declared body over the limit is refused before it is read: read and cut off at the limit, its client saw the
  // connection reset, not the 413 (a trial: curl posting 70 MB exited 56 after "100 Continue").
  app.addHook('onRequest', async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    if (!(declared > limit)) return;
    const message = `Code: 307. DB::Exception: request body of ${declared} bytes (Content-Length) is larger than ${limit} bytes: the edgelat endpoint reads a body whole; send the rows in several requests. (TOO_MANY_BYTES)`;
    return reply.status(413).header('X-ClickHouse-Exception-Code', '307').header('Connection', 'close').type('text/plain; charset=UTF-8').send(exceptionText(307, message));
  });

  app.get('/ping', async (_request, reply) => reply.type('text/plain; charset=UTF-8').send('Ok.\n'));

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const parsedUrl = new URL(request.url, 'http://localhost');
    // ClickHouse's answer to `GET /` without parameters, which health checks use as they use /ping (a trial: 400 "empty query").
    if (request.method !== 'POST' && parsedUrl.search === '') return reply.type('text/plain; charset=UTF-8').send('Ok.\n');
    const url = parsedUrl.searchParams;
    const givenId = url.get('query_id');
    // The id is sent back in a header: one a header cannot carry (CR, LF, other control characters, beyond Latin-1)
    // is refused (it reached Node's header check: a JSON 500).
    const badId = givenId !== null && !isHeaderValue(givenId);
    const queryId = (!badId && givenId) || randomUUID();
    reply.header('X-ClickHouse-Query-Id', queryId).header('X-ClickHouse-Timezone', 'UTC');
    const fail = (error: unknown) => {
      const e = engineError(error);
      const status = (error as { statusCode?: number })?.statusCode ?? statusOf(e.code);
      const code = e.code ?? Number(/^Code: (\d+)/.exec(e.message)?.[1] ?? 1001);
      // A client's mistake (400s) at info, the endpoint's failures at warn: both name the ClickHouse code. A query stopped
      // because its client left (code 394 from the kill) is no failure of the endpoint's.
      if (request.raw.socket?.destroyed) logger?.info({ queryId, method: request.method, code }, 'sql endpoint: the client closed the connection before the answer; its query was stopped');
      else if (status >= 500) logger?.warn({ queryId, method: request.method, code, status }, 'sql endpoint request failed');
      else logger?.info({ queryId, method: request.method, code, status }, 'sql endpoint request refused');
      return reply
        .status(status)
        .header('X-ClickHouse-Exception-Code', String(code))
        .type('text/plain; charset=UTF-8')
        .send(exceptionText(code, undoNested(readOnlyAdvice(e.message.replace(/^Code: \d+\. DB::Exception: /, `Code: ${code}. DB::Exception: `)))));
    };
    if (badId) return fail(new WarehouseError(`Code: 36. DB::Exception: query_id ${JSON.stringify(givenId).slice(0, 80)} holds a character an HTTP header cannot carry (a control character such as CR or LF, or one beyond Latin-1): use printable ASCII. (BAD_ARGUMENTS)`, 36));
    const blockFormat = compressedBlockFormat(url);
    if (blockFormat !== null) return fail(new WarehouseError(blockFormat, 36));
    // The endpoint keeps no session: each request runs on its own. A client that checks its session is told so, as
    // ClickHouse tells it of a session it does not hold (a trial: session_check=1 of a session never opened answered 200).
    // An empty session_id is none, as in ClickHouse (a re-test: "Session \"\" not found").
    const sessionId = url.get('session_id') || null;
    if (sessionId !== null && /^(1|true)$/i.test(url.get('session_check') ?? '')) {
      return fail(Object.assign(new WarehouseError(`Code: 372. DB::Exception: Session ${JSON.stringify(sessionId).slice(0, 80)} not found: the edgelat endpoint keeps no session (each request runs on its own; session_id is taken and has no effect). (SESSION_NOT_FOUND)`, 372), { statusCode: 404 }));
    }
    /** What a SET or a temporary table is told of the session it was sent with (none is kept). */
    const noSession = sessionId !== null ? '; the endpoint keeps no session, so session_id does not keep it either' : '';
    if (unavailable) return reply.status(503).header('X-ClickHouse-Exception-Code', '210').type('text/plain; charset=UTF-8').send(`${UNAVAILABLE}\n`);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const queryParam = url.get('query') ?? '';
    const whole = queryParam !== '' && body.length > 0 ? Buffer.concat([Buffer.from(`${queryParam}\n`), body]) : queryParam !== '' ? Buffer.from(queryParam) : body;
    if (whole.length === 0 || whole.toString('latin1', 0, 4096).trim() === '') {
      return fail(new WarehouseError('Code: 62. DB::Exception: empty query. (SYNTAX_ERROR)', 62));
    }
    // ClickHouse takes the database and the default format from the URL or from these headers (the URL first).
    const header = (name: string): string | undefined => {
      const v = request.headers[name];
      return (Array.isArray(v) ? v[0] : v) || undefined;
    };
    const database = url.get('database') || header('x-clickhouse-database') || 'default';
    // GET (and HEAD, which Fastify answers with the GET route) is read-only, as in ClickHouse; so is a request asking readonly=1|2.
    // The last readonly of the URL, as ClickHouse takes a setting given twice (a re-test: `?readonly=0&readonly=2` read the
    // first, 0, and ran an INSERT).
    const readonlyGiven = url.getAll('readonly').at(-1) ?? null;
    const readonly = !writes || request.method !== 'POST' || /^[12]$/.test(readonlyGiven ?? '');
    // `readonly` in the URL may only restate what the request runs at, as the other settings (a trial: readonly=0 on a
    // GET was answered as if taken): 1 or 2 on any request, 0 on a POST.
    if (readonlyGiven !== null && !(/^[12]$/.test(readonlyGiven) || (readonlyGiven === '0' && !readonly))) {
      return fail(new WarehouseError(`Code: 452. DB::Exception: setting readonly = '${readonlyGiven.replace(/[\\']/g, '\\$&')}' in the URL: ${readonly ? (request.method === 'POST' ? 'the port is read-only (readonly 1; serve --sql-write lets a POST change the warehouse)' : 'a GET is read-only (readonly 1; 2 is taken as 1): send a change with POST') : 'readonly takes 0 (a POST that may write), 1 or 2 (read-only)'}. (SETTING_CONSTRAINT_VIOLATION)`, 452));
    }
    // The query's size limit is the endpoint's to keep (its connections parse up to the ceiling): the URL may set it, as
    // in ClickHouse (a trial: a 300 KB query could not run, and ?max_query_size=2000000 was refused as a setting change).
    let maxQuerySize: number;
    try {
      maxQuerySize = maxQuerySizeOf(url);
    } catch (error) {
      return fail(new WarehouseError((error as Error).message, 36));
    }
    const insert = parseRawInsert(whole.toString('latin1', 0, Math.min(whole.length, 65_536)));
    const refusedReadonly = request.method !== 'POST' ? READONLY : writes ? READONLY_ASKED : READONLY_PORT;
    try {
      if (insert && readonly) return fail(new WarehouseError(refusedReadonly, 164));
      if (insert) {
        const statement = whole.toString('utf8', 0, insert.dataOffset);
        const { settings } = splitParams(url, statement);
        delete settings.max_query_size;
        // A client gone while its insert waited for the writer (a re-test: curl's time-out, then the rows were written
        // once the writer was free, so a retry would have written them twice): not run.
        const gone = new AbortController();
        const onClose = () => {
          if (!reply.raw.writableFinished) gone.abort();
        };
        reply.raw.on('close', onClose);
        if (reply.raw.closed || reply.raw.destroyed) onClose();
        let result: Awaited<ReturnType<SqlEngine['insert']>>;
        try {
          result = await engine.insert({ table: insert.table, columns: insert.columns, format: insert.format, body: whole.subarray(insert.dataOffset), settings, database, signal: gone.signal });
        } finally {
          reply.raw.off('close', onClose);
        }
        // No read_rows, read_bytes or total_rows_to_read: as a read's summary (readSummary), not figures chdb does not tell.
        const summary = { written_rows: String(result.writtenRows), written_bytes: String(result.writtenBytes), result_rows: '0', result_bytes: '0' };
        return reply.header('X-ClickHouse-Summary', JSON.stringify(summary)).header('X-ClickHouse-Format', canonicalFormat(insert.format)).type('text/plain; charset=UTF-8').send('');
      }
      const sql = whole.toString('utf8');
      // ClickHouse's parser: one statement (two: its "Multi-statements are not allowed"), no INTO OUTFILE. On a free
      // reader, else the idle writer, else the first reader to free (it reads nothing): a GET's check had waited in the
      // readers' queue and then queued again, and a later POST got ahead of it (a re-test); on the writer alone, every
      // POST read waited for a long insert there (`SELECT 1` 2.5 s).
      const canonical = await canonicalStatement(async (q, p) => JSON.parse(`[${Buffer.from((await engine.query(q, p, 'JSONEachRow', database, 'any')).body).toString().trim().split('\n').join(',')}]`) as { f: string }[], sql)
        .catch((error: unknown) => {
          if (error instanceof MultiStatementError) throw new WarehouseError('Code: 62. DB::Exception: Syntax error (Multi-statements are not allowed): the query holds more than one statement. (SYNTAX_ERROR)', 62);
          if (error instanceof EmptyQueryError) throw new WarehouseError('Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)', 62);
          // Over the ceiling the engine's connections parse: said as the endpoint's limit, not as a setting to raise.
          const tooLong = querySizeProblem(sql, null, maxQuerySize);
          if (tooLong !== null && /Max query size exceeded/.test(String((error as Error)?.message ?? error))) throw new WarehouseError(tooLong, 62);
          // The parser's message names the formatQuery call the check wraps the statement in, which the client never sent.
          const text = String((error as Error)?.message ?? error);
          const own = text.replace(/: In scope SELECT formatQuery\(.*\) AS f\.(?= \(SYNTAX_ERROR\)\s*$)/s, '.');
          if (own !== text) throw new WarehouseError(own, 62);
          throw error;
        });
      const tooLong = querySizeProblem(sql, canonical, maxQuerySize);
      if (tooLong !== null) return fail(new WarehouseError(tooLong, 62));
      if (canonical !== null && readonly && readonlyGap(canonical) !== null) return fail(new WarehouseError(refusedReadonly, 164));
      // An INSERT on a read-only request is refused here, not by chdb, which reads an INSERT's data from the process's
      // stdin where the statement carries none (a security re-test: a GET `INSERT … VALUES (1)` read all of serve's).
      if (canonical !== null && readonly && /\bINSERT\s+INTO\b/i.test(codeOf(canonical))) return fail(new WarehouseError(refusedReadonly, 164));
      // A table named by a path is the file to chdb: not read, and not even probed (EXISTS answered whether /etc/shadow
      // exists over GET), on any request.
      const { params, settings } = splitParams(url, sql);
      if (canonical !== null && namesPath(canonical, params)) {
        return fail(new WarehouseError('Code: 497. DB::Exception: a table named by a path (or an Identifier parameter bound to one) is a file to chdb, ClickHouse\'s local mode: the edgelat endpoint reads no file. (ACCESS_DENIED)', 497));
      }
      // Over ClickHouse's HTTP interface without a session a SET lasts its request, so it changes nothing; here it would
      // change the endpoint's shared connection for every later request (a trial: `SET max_query_size = 5` broke them all).
      if (canonical !== null && !readonly && /^SET\b/i.test(codeOf(canonical))) {
        return fail(new WarehouseError(`Code: 497. DB::Exception: a SET statement would change the edgelat endpoint's shared connection for every later request (over HTTP without a session it lasts one request${noSession}): put SETTINGS name = value in the query instead. (ACCESS_DENIED)`, 497));
      }
      // A temporary table outlives its request the same way (over HTTP without a session it lasts one request): here it
      // stayed on the writer, seen by the POST reads that run there and not by those on a reader (a re-test).
      if (canonical !== null && !readonly && /^(?:CREATE(?:\s+OR\s+REPLACE)?|REPLACE|ATTACH)\s+TEMPORARY\b/i.test(codeOf(canonical))) {
        return fail(new WarehouseError(`Code: 497. DB::Exception: a temporary table would stay on the edgelat endpoint's shared connection for every later request (over HTTP without a session it lasts one request${noSession}): create a table in a database, and drop it when done. (ACCESS_DENIED)`, 497));
      }
      // Anyone who reaches the port could stop the process, the predictor API with it (a trial: SYSTEM SHUTDOWN over POST).
      if (canonical !== null && /^SYSTEM\s+(?:SHUTDOWN|KILL)\b/i.test(codeOf(canonical))) {
        return fail(new WarehouseError('Code: 497. DB::Exception: SYSTEM SHUTDOWN and SYSTEM KILL would stop the edgelat process (its predictor API too): stop it with SIGTERM or Ctrl-C. (ACCESS_DENIED)', 497));
      }
      if (canonical !== null && runsProgram(canonical)) {
        return fail(new WarehouseError('Code: 497. DB::Exception: a dictionary whose source runs a program (EXECUTABLE) would run it on every read, GET included: the edgelat endpoint does not create one. (ACCESS_DENIED)', 497));
      }
      // No login, and the process's rights: whoever reaches the port would read and write its files (a security trial
      // read /etc/passwd, wrote a file as root, and made a File table that every GET then read). A GET cannot (readonly).
      const beyond = canonical !== null && !readonly ? reachesOutside(canonical) : null;
      if (beyond !== null) {
        return fail(new WarehouseError(`Code: 497. DB::Exception: ${beyond}: the edgelat endpoint has no login and runs with its process's rights, so it refuses this; send a file's rows in the POST body (INSERT INTO t FORMAT CSV), or run the statement on this machine as yourself with \`edgelat sql --write\` while serve is stopped. (ACCESS_DENIED)`, 497));
      }
      // chdb runs a statement after an INSERT … VALUES list's data (`edgelat sql` refuses it the same way): past every
      // check here, and a SETTINGS max_execution_time = 0 there lifted the limit (a re-test).
      if (canonical !== null && valuesRest(sql, canonical) !== null) {
        return fail(new WarehouseError('Code: 62. DB::Exception: Syntax error (Multi-statements are not allowed): a statement follows the INSERT … VALUES data. (SYNTAX_ERROR)', 62));
      }
      // A statement's own max_execution_time may lower the endpoint's limit, not lift it (on the writer a query may change settings).
      const lifted = canonical !== null && !readonly ? executionTimeProblem(canonical, engine.maxExecutionS ?? 0) : null;
      if (lifted !== null) return fail(new WarehouseError(lifted, 452));
      const liftedMemory = canonical !== null && !readonly ? memoryProblem(canonical, engine.maxMemoryBytes ?? 0) : null;
      if (liftedMemory !== null) return fail(new WarehouseError(liftedMemory, 452));
      if (canonical !== null && writesFile(canonical)) {
        return fail(new WarehouseError('Code: 497. DB::Exception: INTO OUTFILE writes a file on the server\'s machine: the edgelat endpoint does not (ClickHouse\'s HTTP interface writes none either). (ACCESS_DENIED)', 497));
      }
      // The parsed statement's own FORMAT first: the raw text's last words miss one followed by SETTINGS or a comment (a trial:
      // `FORMAT JSONEachRow SETTINGS max_threads=1` was labelled TabSeparated).
      const format = canonicalFormat((canonical !== null ? statementFormat(canonical) : null) ?? formatClause(sql) ?? url.get('default_format') ?? header('x-clickhouse-format') ?? 'TabSeparated');
      // ClickHouse would wrap an integer outside its type ({x:UInt8} = 300 gives 44): refused, as `edgelat sql` does.
      const outside = outOfRangeParam(sql, params);
      if (outside !== null) {
        return fail(new WarehouseError(`Code: 457. DB::Exception: value ${outside.value} of query parameter ${outside.name} is outside ${outside.type}: ClickHouse would wrap it around. (BAD_QUERY_PARAMETER)`, 457));
      }
      // `readonly` chose the connection above. The others may only restate the connection's values (the engine changes
      // none: clients send date_time_output_format=simple); a change is refused naming it, with SETTINGS as the way.
      delete settings.readonly;
      delete settings.max_query_size;
      const headers = { 'X-ClickHouse-Format': format, 'Content-Type': contentType(format) };
      // A POST that only reads runs on a read-only connection too: @clickhouse/client sends every query with POST, and
      // on the one writer a long read held up every other client's reads and inserts. Where the reader refuses it (a
      // SETTINGS clause, a table function: code 164, before any output) it runs on the writer, as any POST did.
      // A SETTINGS clause goes to the writer at once: a reader refuses it, and it had waited for a busy reader first (a re-test: 7.3 s).
      const onReader = readonly || (canonical !== null && isPlainRead(canonical) && settingsOf(canonical).length === 0);
      // A KILL runs on whichever connection frees first (ClickHouse's readonly lets it through, a reader runs it): on the
      // writer it queued behind the very query it was sent to stop, when that ran there (a POST with SETTINGS).
      const where: boolean | 'any' = !onReader && canonical !== null && /^KILL\b/i.test(codeOf(canonical)) ? 'any' : onReader;
      const readsOnly = readonly || (canonical !== null && isPlainRead(canonical));
      return await answerRead(reply, headers, fail, logger, queryId, stallMs, metrics, readsOnly, async (onChunk, signal) => {
        let started = false;
        const tracked = (chunk: Uint8Array, rows: number | null) => {
          started = true;
          return onChunk(chunk, rows);
        };
        try {
          return await engine.stream(sql, params, format, database, where, settings, tracked, signal, readsOnly);
        } catch (error) {
          if (!isReadonlyRefusal(error)) throw error;
          if (readonly) throw new WarehouseError(request.method === 'POST' && writes && canonical !== null && settingsOf(canonical).length > 0 ? READONLY_SETTINGS : refusedReadonly, 164);
          if (where === false || started) throw error;
          return engine.stream(sql, params, format, database, false, settings, onChunk, signal, readsOnly);
        }
      });
    } catch (error) {
      return fail(error);
    }
  };
  app.get('/', handle);
  app.post('/', handle);
  // Other methods and paths: plain text, as ClickHouse answers them, not a JSON body a ClickHouse client cannot read.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (path === '/' || path === '/ping') {
      const allow = path === '/' ? 'GET, POST' : 'GET';
      return reply.status(405).header('Allow', allow).type('text/plain; charset=UTF-8')
        .send(`method ${request.method} is not allowed on ${path}: use ${allow.replace(', ', ' or ')}\n`);
    }
    return reply.status(404).type('text/plain; charset=UTF-8')
      .send(`There is no handle ${path}: send queries to / (GET /?query=... or POST), health checks to /ping\n`);
  });

  /** chdb's nested text ("Code: 73. DB::Exception: Code: 73. DB::Exception: …") once, as ClickHouse prints it. */
  function undoNested(message: string): string {
    const [first, ...rest] = message.split('\n');
    return [exceptionFirstLine(first!), ...rest].join('\n');
  }

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    // A body that stalled is not read to its end: the connection is not kept for another request.
    if ((request as unknown as { closeAfterAnswer?: boolean }).closeAfterAnswer) reply.header('Connection', 'close');
    const code = Number(/^Code: (\d+)/.exec(error.message)?.[1] ?? (status === 413 ? 307 : 1001));
    reply.status(status).header('X-ClickHouse-Exception-Code', String(code)).type('text/plain; charset=UTF-8').send(exceptionText(code, error.message));
  });
  return app;
}

/** Whether Node sends `value` in a header (node:http's own check: tab, printable ASCII, Latin-1). */
function isHeaderValue(value: string): boolean {
  try {
    validateHeaderValue('X-ClickHouse-Query-Id', value);
    return true;
  } catch {
    return false;
  }
}
