/**
 * Pure pieces of ClickHouse's HTTP interface: which URL parameters are settings,
 * how `param_<name>` text is decoded, how an `INSERT ... FORMAT X` request splits
 * into statement and data, and which status and content type a response gets.
 */

/** Longest a query on the ClickHouse HTTP interface runs by default, s (ClickHouse's max_execution_time). */
export const DEFAULT_MAX_EXECUTION_S = 300;

/** ClickHouse's default `max_query_size`, bytes: the longest query parsed unless the URL gives a larger one. */
export const DEFAULT_MAX_QUERY_SIZE_BYTES = 262_144;

/**
 * Largest `max_query_size` the endpoint takes, bytes (16 MiB): its engine's connections parse queries up to this size,
 * and the endpoint holds each request to the `max_query_size` its URL gives (ClickHouse's default when none). A larger
 * value in the URL is taken as this one.
 */
export const MAX_QUERY_SIZE_CEILING_BYTES = 16 * 1024 * 1024;

/**
 * The `max_query_size` a request's URL gives, bytes, or ClickHouse's default.
 * @param url  The request's URL parameters.
 * @returns    The value given (any above {@link MAX_QUERY_SIZE_CEILING_BYTES} as that), else {@link DEFAULT_MAX_QUERY_SIZE_BYTES}.
 * @throws {RangeError} with ClickHouse-style text (code 36) when the value is not a whole number of bytes.
 */
export function maxQuerySizeOf(url: URLSearchParams): number {
  const given = url.get('max_query_size');
  if (given === null) return DEFAULT_MAX_QUERY_SIZE_BYTES;
  if (!/^\s*\d+\s*$/.test(given)) {
    throw new RangeError(`Code: 36. DB::Exception: max_query_size = ${JSON.stringify(given)} in the URL: expected a whole number of bytes (up to ${MAX_QUERY_SIZE_CEILING_BYTES} here). (BAD_ARGUMENTS)`);
  }
  return Math.min(Number(given), MAX_QUERY_SIZE_CEILING_BYTES);
}

/**
 * Why a query is longer than `maxQuerySize` lets ClickHouse parse, or null.
 *
 * Behaviour: as ClickHouse counts it: the whole text in bytes, except that an `INSERT … VALUES` statement's data (which
 * ClickHouse reads with a stream parser, not the SQL parser) does not count. A `SETTINGS max_query_size` clause in the
 * query does not apply to the query's own parsing, in ClickHouse too (its parser reads that clause only within the
 * limit): the URL parameter does.
 * @param sql           The query as the request gives it (URL query, newline, body).
 * @param canonical     ClickHouse's canonical text of it (`formatQuery`), or null when not known.
 * @param maxQuerySize  The request's limit, bytes ({@link maxQuerySizeOf}).
 * @returns ClickHouse-style text of code 62 (SYNTAX_ERROR, HTTP 400): how long the query is and how to let it run.
 */
export function querySizeProblem(sql: string, canonical: string | null, maxQuerySize: number): string | null {
  const bytes = Buffer.byteLength(sql);
  if (bytes <= maxQuerySize) return null;
  const values = canonical !== null && /^INSERT\b[^]*\bFORMAT Values$/.test(canonical.trim()) ? /\bVALUES\b/i.exec(sql) : null;
  const counted = values ? Buffer.byteLength(sql.slice(0, values.index + values[0].length)) : bytes;
  if (counted <= maxQuerySize) return null;
  const how = counted > MAX_QUERY_SIZE_CEILING_BYTES
    ? `over the largest max_query_size the edgelat endpoint takes (${MAX_QUERY_SIZE_CEILING_BYTES}): send the data apart from the query (INSERT … FORMAT with the rows in the body, or a table to join)`
    : `give max_query_size=${counted} or more in the URL (?max_query_size=${counted}; up to ${MAX_QUERY_SIZE_CEILING_BYTES} here). A SETTINGS clause in the query does not apply to its own parsing (in ClickHouse too)`;
  return `Code: 62. DB::Exception: Max query size exceeded (can be increased with the \`max_query_size\` setting): the query is ${counted} bytes, max_query_size is ${maxQuerySize}: ${how}. (SYNTAX_ERROR)`;
}

/**
 * URL parameters of the HTTP interface that are not ClickHouse settings, and settings that shape only ClickHouse's
 * HTTP answer, which this endpoint does not give (no progress headers, no compressed answers): taken and without
 * effect. `@clickhouse/client` advises `send_progress_in_http_headers` for long queries, and every query that set it
 * was refused as a setting change (a trial).
 */
const NOT_SETTINGS = new Set([
  'query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout', 'session_check',
  'user', 'password', 'quota_key', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'role',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'enable_http_compression', 'http_zlib_compression_level',
  // A read whose client goes away is stopped at its next block here anyway; answers are written in slices of their own.
  'cancel_http_readonly_queries_on_client_close', 'http_response_buffer_size',
]);

/**
 * Why a request's `compress` or `decompress` URL parameter cannot be honoured, or null (absent, `0` or `false`).
 *
 * Behaviour: `compress=1` asks ClickHouse for its answer in its own compressed block format (LZ4 blocks with CityHash
 * checksums, as clickhouse-client reads them), `decompress=1` says the body is in it. The endpoint implements neither:
 * ignoring `compress=1` sent plain text to a client expecting blocks (a trial), and a `decompress=1` body would be read
 * as SQL. HTTP compression of the request body (`Content-Encoding: gzip` or `deflate`) is read.
 * @param url  The request's URL parameters.
 * @returns    ClickHouse-style text of code 36 (BAD_ARGUMENTS, HTTP 400) naming the parameter, or null.
 */
export function compressedBlockFormat(url: URLSearchParams): string | null {
  const on = (name: string): string | null => {
    const v = url.get(name);
    return v === null || /^(?:0|false)$/i.test(v.trim()) ? null : v;
  };
  const compress = on('compress');
  if (compress !== null) {
    return `Code: 36. DB::Exception: compress=${compress} asks for the answer in ClickHouse's own compressed block format (LZ4 blocks with checksums, as clickhouse-client reads it), which the edgelat endpoint does not produce: leave compress out (or 0). Its answers are sent uncompressed: HTTP compression (enable_http_compression=1 with Accept-Encoding) is taken without compressing them. (BAD_ARGUMENTS)`;
  }
  const decompress = on('decompress');
  if (decompress !== null) {
    return `Code: 36. DB::Exception: decompress=${decompress} says the request body is in ClickHouse's own compressed block format, which the edgelat endpoint does not read: send the body plain, or compressed with HTTP compression (Content-Encoding: gzip or deflate). (BAD_ARGUMENTS)`;
  }
  return null;
}

/** The parts of a request's URL parameters. */
export interface RequestParams {
  /** `param_<name>` values decoded to plain text (null for `\N`), keyed by name. */
  params: Record<string, string | null>;
  /** Everything that is a ClickHouse setting (passed to inserts). */
  settings: Record<string, string>;
}

/**
 * Split URL parameters into bound parameters and settings.
 * @param sql the statement, used to find each parameter's declared type.
 */
export function splitParams(url: URLSearchParams, sql: string): RequestParams {
  const params: Record<string, string | null> = {};
  const settings: Record<string, string> = {};
  for (const [key, value] of url) {
    if (key.startsWith('param_')) {
      const name = key.slice('param_'.length);
      params[name] = decodeParam(value, paramType(sql, name));
    } else if (!NOT_SETTINGS.has(key)) settings[key] = value;
  }
  return { params, settings };
}

/** The type declared for `{name:Type}` in `sql`, or '' when not found. */
export function paramType(sql: string, name: string): string {
  const at = sql.search(new RegExp(`\\{\\s*${name.replace(/[^\w]/g, '')}\\s*:`));
  if (at < 0) return '';
  return /:\s*([^}]*)\}/.exec(sql.slice(at))?.[1]?.trim() ?? '';
}

const ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f', a: '\x07', v: '\v' };

/** The character an escape `\c` stands for (ClickHouse's escaping rules; `\xHH` is a byte). */
const unescape = (c: string, hex: string): string => (c === 'x' && /^[0-9a-f]{2}$/i.test(hex) ? String.fromCharCode(parseInt(hex, 16)) : ESCAPES[c] ?? c);

/**
 * Decode one `param_` value (as ClickHouse's HTTP interface takes it: the type's text in escaped form)
 * into the text the engine's binder is given. The engine (chdb `queryBind`) escapes what it is given
 * for TabSeparated itself (backslash, NUL, \b \f \n \r \t; not the quote) and the server parses that:
 * - scalar types: the unescaped value (`a\tb` → a, tab, b);
 * - composite types (Array, Tuple, Map, Nested): the same text with each escape replaced by the
 *   character it stands for, and an escaped quote inside a quoted string by a doubled one (`''`,
 *   which ClickHouse's quoted-string reader takes too). Passed as written, an escape came back
 *   doubled: `['a\tb']` bound a 4-character string (a trial: the report's tab-joined keys over the
 *   endpoint matched nothing).
 * `\N` alone is NULL.
 */
export function decodeParam(value: string, type: string): string | null {
  if (value === '\\N') return null;
  if (!/^(Array|Tuple|Map|Nested)\s*\(/i.test(type)) return value.replace(/\\(?:x([0-9a-fA-F]{2})|(.))/gs, (_, hex: string | undefined, c: string | undefined) => (hex !== undefined ? unescape('x', hex) : unescape(c!, '')));
  let out = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      const next = value[i + 1]!;
      const hex = value.slice(i + 2, i + 4);
      const ch = unescape(next, hex);
      i += next === 'x' && /^[0-9a-f]{2}$/i.test(hex) ? 3 : 1;
      out += quoted && ch === "'" ? "''" : ch;
    } else if (c === "'") {
      if (quoted && value[i + 1] === "'") {
        out += "''";
        i++;
      } else {
        quoted = !quoted;
        out += c;
      }
    } else out += c;
  }
  return out;
}

/** An `INSERT INTO t [(cols)] FORMAT X` statement whose data follows in the request. */
export interface RawInsert {
  /** Table as written, backquotes removed (`db.table`). */
  table: string;
  /** Column list when given. */
  columns?: string[];
  /** Input format name. */
  format: string;
  /** Byte offset in the combined request text where the data starts. */
  dataOffset: number;
}

const INSERT_RE = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?((?:`[^`]+`|"[^"]+"|[\w]+)(?:\.(?:`[^`]+`|"[^"]+"|[\w]+))?)\s*(?:\(([^)]*)\))?\s*(?:SETTINGS\s+[^]*?)?FORMAT\s+(\w+)[ \t]*(?:\r?\n)?/i;

/**
 * Recognise an insert whose data is raw bytes after `FORMAT X`.
 * @param head the start of the combined request text, decoded as latin1 so that
 *             character offsets equal byte offsets.
 * @returns null for any other statement (SELECT, DDL, INSERT ... VALUES / SELECT).
 */
export function parseRawInsert(head: string): RawInsert | null {
  const m = INSERT_RE.exec(head);
  if (!m) return null;
  const unquote = (s: string) => s.trim().replace(/^[`"]|[`"]$/g, '');
  const table = m[1]!.split('.').map(unquote).join('.');
  const columns = m[2]?.split(',').map(unquote).filter((c) => c !== '');
  return { table, columns: columns?.length ? columns : undefined, format: m[3]!, dataOffset: m[0].length };
}

/** The output format named by a trailing `FORMAT X` clause, or null. */
export function formatClause(sql: string): string | null {
  return /\bFORMAT\s+(\w+)\s*;?\s*$/i.exec(sql)?.[1] ?? null;
}

/** Canonical names of common format aliases (ClickHouse reports the canonical one). */
const ALIASES: Record<string, string> = { tsv: 'TabSeparated', tsvraw: 'TabSeparatedRaw', tsvwithnames: 'TabSeparatedWithNames', tsvwithnamesandtypes: 'TabSeparatedWithNamesAndTypes' };

/** Canonical name of a format (`TSV` → `TabSeparated`). */
export function canonicalFormat(format: string): string {
  return ALIASES[format.toLowerCase()] ?? format;
}

/**
 * Binary output formats, answered as `application/octet-stream` as ClickHouse's HTTP interface does (the
 * getContentType of their output formats in src/Processors/Formats/Impl; `system.formats.content_type` without a charset):
 * a client or proxy that reads text/plain as UTF-8 would mangle Parquet or RowBinary bytes. RawBLOB too: its bytes are a
 * column's, whatever they are (ClickHouse labels it text/plain). A re-test found PNG, Buffers and the wire formats missing.
 */
const BINARY_FORMATS = /^(Native|RowBinary\w*|Parquet|Arrow|ArrowStream|ORC|Avro|AvroConfluent|MsgPack|Protobuf\w*|CapnProto|RawBLOB|BSONEachRow|Npy|Buffers|PNG|MySQLWire|ODBCDriver2|PostgreSQLWire)$/i;

/**
 * Whether `format` (any case, an alias too) is a binary output format, whose bytes are a file's: nothing may be added
 * to them (a trial: `edgelat sql "… FORMAT Parquet" > day.parquet` ended with a newline, and the file did not read back).
 */
export function isBinaryFormat(format: string): boolean {
  return BINARY_FORMATS.test(canonicalFormat(format));
}

/**
 * `Content-Type` of a response in `format`: ClickHouse's own for each output format (`system.formats.content_type` of
 * ClickHouse 26: the getContentType of each output format in src/Processors/Formats/Impl), checked against it for every
 * output format (test/unit/sql-endpoint/binary-formats.test.ts); RawBLOB, a column's bytes, as octet-stream.
 * A re-test: JSONEachRow was labelled application/json (ClickHouse: application/x-ndjson), CSV had no `header=`.
 */
export function contentType(format: string): string {
  const f = canonicalFormat(format);
  const utf8 = (type: string) => `${type}; charset=UTF-8`;
  if (/^PNG$/i.test(f)) return 'image/png';
  if (BINARY_FORMATS.test(f)) return 'application/octet-stream';
  if (/^CSV$/i.test(f)) return 'text/csv; charset=UTF-8; header=absent';
  if (/^CSVWith/i.test(f)) return 'text/csv; charset=UTF-8; header=present';
  if (/^Prometheus$/i.test(f)) return 'text/plain; version=0.0.4; charset=UTF-8';
  if (/^GeoJSON$/i.test(f)) return utf8('application/geo+json');
  if (/^XML$/i.test(f)) return utf8('application/xml');
  if (/^(TabSeparated|TSV|TSKV|Raw(?!BLOB)|LineAsString)/i.test(f)) return utf8('text/tab-separated-values');
  if (/WithProgress$/i.test(f)) return utf8('application/json');
  if (/^(JSONEachRow|JSONStringsEachRow|JSONL|JSONLines|NDJSON|PrettyJSONEachRow|PrettyJSONLines|PrettyNDJSON)$/i.test(f)) return utf8('application/x-ndjson');
  if (/^JSONCompact(Strings)?EachRow/i.test(f)) return utf8('text/plain');
  if (/^JSON/i.test(f)) return utf8('application/json');
  return utf8('text/plain');
}

/**
 * ClickHouse codes answered with 400 (bad request: syntax, names, types, values, settings): those of ClickHouse's
 * exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp; parse errors of every type, AST limits,
 * duplicate or missing columns, values out of range), and values of query parameters it answers with 500
 * (CANNOT_PARSE_BOOL 467, UNKNOWN_ELEMENT_OF_ENUM 691: a trial's bad {u:UUID} got a 500).
 */
const CLIENT_ERRORS = new Set([
  6, 8, 15, 25, 26, 27, 36, 38, 41, 43, 44, 46, 47, 53, 62, 69, 70, 72, 73, 115, 117, 130, 167, 168, 223, 321, 376, 386, 427,
  441, 452, 456, 457, 467, 472, 675, 676, 691,
]);
/** ClickHouse codes answered with 404 (unknown table or database). */
const NOT_FOUND = new Set([60, 81]);
/** ClickHouse codes answered with 403 (READONLY: a change over GET; ACCESS_DENIED). */
const FORBIDDEN = new Set([164, 497]);

/** HTTP status ClickHouse gives an exception with `code` (null: unknown failure). */
export function statusOf(code: number | null): number {
  if (code === null) return 500;
  if (NOT_FOUND.has(code)) return 404;
  if (FORBIDDEN.has(code)) return 403;
  if (CLIENT_ERRORS.has(code)) return 400;
  if (code === 210) return 503;
  return 500;
}

/** Error text in ClickHouse's shape (`Code: N. DB::Exception: ... (NAME)`), one trailing newline. */
export function exceptionText(code: number | null, message: string): string {
  const text = /^Code: \d+\./.test(message) ? message : `Code: ${code ?? 1001}. DB::Exception: ${message}`;
  return `${text.trimEnd()} (version edgelat-chdb)\n`;
}

/** Whether a host name is this machine's loopback (`localhost`, 127.0.0.0/8, ::1). */
export function isLoopbackHost(hostname: string): boolean {
  // A fully qualified name's trailing dot is the same name (a re-test: `localhost.` refused where `127.0.0.1.` passed).
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Why an HTTP/1.1 request without a Host header is refused (RFC 9112 §3.2: a client must send Host in HTTP/1.1, and a
 * server answers 400 to a request without it), or null (HTTP/1.0 has no Host to require). Node's own check answered
 * a bare 400 with no body; the servers turn it off and answer with their error's body instead.
 * @param request  The request's `httpVersion` and headers (Node lower-cases the names).
 */
export function missingHostProblem(request: { httpVersion: string; headers: Readonly<Record<string, string | string[] | undefined>>; rawHeaders?: readonly string[] }): string | null {
  // More than one Host is answered 400 too (RFC 9112 §3.2; a re-test: Node keeps the first, and the request was answered).
  const hosts = (request.rawHeaders ?? []).filter((_, i, all) => i % 2 === 0 && all[i]!.toLowerCase() === 'host').length;
  if (hosts > 1) return `a request must carry one Host header (RFC 9112 §3.2), and this one has ${hosts}`;
  if (request.httpVersion === '1.0' || request.headers.host !== undefined) return null;
  return `an HTTP/${request.httpVersion} request must carry a Host header (RFC 9112 §3.2), and this one has none: send Host: 127.0.0.1:<port> (curl and every HTTP client do), or speak HTTP/1.0`;
}

/**
 * What a refusal of {@link browserRefusal} adds for a Host it did not know: how to name the host a proxy or a load
 * balancer sends (a trial: `Host: edgelat.internal` was refused without a word of `--allowed-hosts`); '' for another.
 */
export function hostHint(refusal: string): string {
  return refusal.startsWith('Host: ') ? '; a name of this server that clients use (a load balancer\'s, a proxy\'s) is answered once given to `edgelat serve --allowed-hosts NAME`' : '';
}

/**
 * Why a request may have been sent by a browser for a web page (and is refused), or null.
 *
 * Behaviour: the endpoint has no authentication, so it answers clients outside a browser only
 * (curl, @clickhouse/client, BI servers: they send no `Origin` and no `Sec-Fetch-Site`).
 * - `Host` must name a loopback host (or one of `allowedHosts`): a web page whose name was made to
 *   resolve to 127.0.0.1 (DNS rebinding) sends its own name there. A request with no Host (HTTP/1.0), or an
 *   empty one (RFC 9112 §3.2: a target without an authority), skips this check (a browser sends its page's host
 *   always); its Origin and Sec-Fetch-Site are checked.
 * - `Origin`, when sent, must be the endpoint's own (same port, a loopback name or the Host).
 * - `Sec-Fetch-Site`, when sent, must be `same-origin` or `none` (typed in the address bar).
 * @param headers       The request's headers (Node lower-cases the names).
 * @param allowedHosts  Host names accepted besides loopback ones; `'any'` accepts every Host.
 */
export function browserRefusal(headers: Readonly<Record<string, string | string[] | undefined>>, allowedHosts: readonly string[] | 'any' = []): string | null {
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(',') : v);
  // A request without Host (HTTP/1.0: a probe's `GET /healthz HTTP/1.0`) is no browser's: every browser sends one,
  // so no page made it (a trial: refused as a browser's with "Host:  is not …"); its Origin and Sec-Fetch-Site are
  // still checked (a re-test: an Origin's refusal blamed the missing Host). Node refuses HTTP/1.1 without it (400).
  const host = one(headers.host) ?? '';
  let hostUrl: URL | null = null;
  try {
    hostUrl = new URL(`http://${host}`);
  } catch {
    hostUrl = null;
  }
  if (headers.host !== undefined && host !== '' && allowedHosts !== 'any' && (hostUrl === null || !(isLoopbackHost(hostUrl.hostname) || allowedHosts.includes(hostUrl.hostname.replace(/^\[(.*)\]$/, '$1'))))) {
    return `Host: ${host} is not this machine's loopback name`;
  }
  const origin = one(headers.origin);
  if (origin !== undefined) {
    let o: URL | null = null;
    try {
      o = new URL(origin);
    } catch {
      o = null;
    }
    const same = o !== null && hostUrl !== null && o.protocol === 'http:' && o.port === hostUrl.port
      && (o.hostname === hostUrl.hostname || (isLoopbackHost(o.hostname) && isLoopbackHost(hostUrl.hostname)));
    if (!same) return `Origin: ${origin}`;
  }
  const site = one(headers['sec-fetch-site'])?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  return null;
}
