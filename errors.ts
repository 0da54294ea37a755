/**
 * The one error hierarchy of edgelat (STYLE §2, after kafkajs's
 * KafkaJSError / KafkaJSNonRetriableError), and the redaction its messages need
 * (`urlForMessages`, `scrubSecrets`). Importable from schemas/, pipelines/ and services/.
 */

/** Base class: every edgelat error says whether retrying can help. */
export class PipelineError extends Error {
  /** True when the same call may succeed later (broker or warehouse outage). */
  readonly retriable: boolean;
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration (flag, env var, option object). Never retriable. */
export class ConfigError extends PipelineError {}

/** A record that cannot be decoded or validated; it goes to the dead-letter topic. */
export class SchemaDecodeError extends PipelineError {
  constructor(
    message: string,
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly path: string,
    readonly schemaId: string | null = null,
  ) {
    super(message);
  }
}

/** A warehouse (chdb / ClickHouse) call failed; `code` is ClickHouse's numeric error code when known. */
export class WarehouseError extends PipelineError {
  constructor(message: string, readonly code: number | null, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options);
  }
}

/** What a process holding a data folder runs: `edgelat demo` for an edgelat command, else its command line (shortened). */
export interface HolderCommand {
  /** True for an edgelat command (its `text` is `edgelat <command>`). */
  edgelat: boolean;
  text: string;
}

/** Another process holds the embedded warehouse's data folder (chdb allows one per folder). */
export class WarehouseLockedError extends WarehouseError {
  /**
   * @param dataDir  The folder.
   * @param pid      The holder's process id, when its pid file named one.
   * @param serving  The ClickHouse HTTP URL of the holder when it is `edgelat serve` (its port answers for the folder).
   * @param waitedS  Seconds the refused process waited for the folder before it gave up (0: it did not wait).
   * @param command  What the holder runs, where the system tells ({@link HolderCommand}); null: not told.
   */
  constructor(readonly dataDir: string, cause?: unknown, readonly pid: number | null = null, readonly serving: string | null = null, readonly waitedS = 0,
    readonly command: HolderCommand | null = null) {
    super(`${command !== null && !command.edgelat ? `process ${pid} (${command.text}), not edgelat, holds a lock on`
      : `another edgelat process${pid === null ? '' : ` (pid ${pid}${command !== null ? `: ${command.text}` : ''})`} holds`} the embedded warehouse at ${JSON.stringify(dataDir)}${waitedS > 0 ? ` (still, after ${waitedS} s of waiting: EDGELAT_LOCK_WAIT_S)` : ''}; `
      + (serving === null ? `${command === null || command.edgelat ? 'try again once it ends, ' : ''}stop it or set EDGELAT_DATA_DIR to another folder`
        : `it is \`edgelat serve\`, whose ClickHouse port answers for the folder: run the command with EDGELAT_CLICKHOUSE_URL=${serving} (all but demo and serve; one that writes only where serve runs with --sql-write), or stop it, or set EDGELAT_DATA_DIR to another folder`), 76, { cause });
  }
}

/** A registered model's file cannot be read, or is not the file registered (its SHA-256 differs). Not retriable: `edgelat model train` mends it. */
export class ModelFileError extends PipelineError {
  /** @param version  The registered model's version. */
  constructor(message: string, readonly version: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** The event log (in-process or Kafka) is unreachable or refused a call. */
export class BrokerUnavailableError extends PipelineError {}

/**
 * The event log refused a commit because its metadata (a processor's checkpoint, a sink's block plan) is longer than
 * the broker's `offset.metadata.max.bytes` (Kafka's OFFSET_METADATA_TOO_LARGE, error code 12). Not retriable, and no
 * BrokerUnavailableError: the same commit would be refused after every restart, so the run stops and says so.
 */
export class CommitMetadataTooLargeError extends PipelineError {
  /**
   * @param groupId        The consumer group whose commit was refused.
   * @param partitions     The committed partitions, `topic:partition`.
   * @param metadataBytes  The longest metadata of the commit, UTF-8 bytes.
   * @param cause          The broker's (kafkajs's) error, if any.
   */
  constructor(readonly groupId: string, readonly partitions: readonly string[], readonly metadataBytes: number, cause?: unknown) {
    super(`commit refused (OFFSET_METADATA_TOO_LARGE): consumer group ${JSON.stringify(groupId)} committed ${partitions.join(', ')} with metadata of up to ${metadataBytes} bytes, `
      + `more than the broker's offset.metadata.max.bytes allows; edgelat keeps a checkpoint within kafka's default, 4096 bytes: set offset.metadata.max.bytes to at least ${Math.max(4096, metadataBytes)} on the brokers `
      + '(a restart would be refused again, so the run stops)', { retriable: false, cause });
  }
}

/** A retried call kept failing. */
export class RetriesExhaustedError extends PipelineError {
  constructor(message: string, readonly retryCount: number, readonly lastDelayMs: number, cause: unknown) {
    super(message, { cause, retriable: false });
  }
}

/** A retried call was given up because the run is stopping (SIGTERM, or another stage failed); `cause` is the last failure. */
export class RetryStoppedError extends PipelineError {
  constructor(message: string, cause: unknown) {
    super(message, { cause, retriable: false });
  }
}

/** An alert webhook answered with an error or could not be reached; `status` is the HTTP status (null: no answer). */
export class WebhookError extends PipelineError {
  /** The receiver's Retry-After, ms (on a 429 or 503), which a retry waits at least; undefined without one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, readonly status: number | null, options: { retriable?: boolean; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A URL, or text meant as one that a URL parser may refuse (`user:pw@host:9092`, `http://u:p@[::1`), as a
 * message may show it: scheme, host and port; credentials become `…@` (everything up to the last `@`, so a
 * password holding `@` or `/` is cut whole), a path other than `/` becomes `/…`, a query shows its parameter
 * names only (`?database=…&password=…`; a part that is no `name=value` becomes `…`), a fragment nothing. A path
 * or fragment holding `@` loses its host too: nothing before the last `@` is trusted.
 * @param text  One URL or host:port (not a list: split a list first).
 * @returns     e.g. `http://…@hooks.example:6665/…?token=…`.
 */
export function urlForMessages(text: string): string {
  const m = /^(\s*[a-z][a-z0-9+.-]*:\/\/)?([\s\S]*)$/i.exec(text)!;
  // The last @ before the fragment is cut: a password may hold `#` too (`u:p#w@host`).
  let rest = m[2]!;
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  rest = rest.replace(/#[\s\S]*$/, '');
  const q = rest.indexOf('?');
  const query = q < 0 ? '' : `?${rest.slice(q + 1).split('&').map((p) => (/^[A-Za-z_][A-Za-z0-9_.-]{0,31}=/.test(p) ? `${p.slice(0, p.indexOf('='))}=…` : '…')).join('&')}`;
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const slash = beforeQuery.indexOf('/');
  const host = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash) === '/' ? '/' : '/…';
  return `${m[1] ?? ''}${at >= 0 ? '…@' : ''}${host}${path}${query}`;
}

/**
 * Text that may quote a request back (a server's or proxy's error body, an error's stack) with its secrets cut:
 * an `Authorization`/`Proxy-Authorization` header's value (after `:`, `=` or, in a JSON array of raw headers, `,`),
 * any `Basic`/`Bearer` credential (a token of 8+ characters holding a digit, `=`, `+` or `/`), `user:password@`
 * after `//`, and `password=`, `token=` or `secret=` values. For free text pino's `redact` paths cannot reach (a
 * trial: a server that echoed the request put `authorization: Basic …`, the ClickHouse password in base64, into
 * the debug log).
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/((?:proxy-)?authorization["']?\s*[:=,]\s*["']?)(?:(?:basic|bearer|digest)\s+)?[^\s"',;]+/gi, '$1[redacted]')
    .replace(/\b(basic|bearer)\s+(?=[A-Za-z._~-]*[0-9+/=])[A-Za-z0-9+/=._~-]{8,}/gi, '$1 [redacted]')
    .replace(/\/\/[^/@\s]*@/g, '//[redacted]@')
    .replace(/\b(password|passwd|token|secret)=[^&\s"']*/gi, '$1=[redacted]');
}

/** `decodeURIComponent` of a text, or the text itself where it holds no valid escape sequence (`50%off`). */
export function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A login sent beside a URL (ClickHouse's EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD). */
export interface Login {
  user?: string;
  password?: string;
}

/**
 * Cut from a text (a server's answer quoted in a message) what a URL keeps out of messages ({@link urlForMessages}):
 * its path, when more than `/`, and its query values, raw or percent-decoded, each as `…`. A proxy that echoes the
 * request (`{"path": "/ch-7f3a…", "status": 404}`) had put a secret path prefix into the message (a security trial).
 * The password of the URL (`user:password@`) or of `login`, as written and decoded, `user:password` and its Basic token
 * become `[redacted]` (a security trial: a registry's 4xx and a proxy's 401 echoed the decoded login back).
 * @param text   Any text.
 * @param url    The URL whose parts to cut (unparsable: the text as it is).
 * @param login  A login sent beside the URL. @default none
 */
export function withoutUrlParts(text: string, url: string, login: Login = {}): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return text;
  }
  text = withoutLogins(text, [{ user: parsed.username, password: parsed.password }, login]);
  const raw = new Set<string>();
  const path = parsed.pathname.replace(/\/+$/, '');
  if (path.length > 1) {
    raw.add(path);
    raw.add(path.slice(1));
    raw.add(path.replaceAll('/', '\\/')); // JSON with escaped slashes (PHP, some Java)
    // Each segment alone (a server naming one: "Database S3CRETPATH does not exist", a re-test), when long enough to be one.
    for (const segment of path.split('/')) if (segment.length >= 4) raw.add(segment);
  }
  for (const [, value] of parsed.searchParams) if (value.length >= 3) raw.add(value);
  const decoded = new Set<string>();
  for (const p of raw) decoded.add(p).add(decodeSafely(p));
  const exact = new Set<string>();
  const encoded = new Set<string>();
  for (const p of decoded) {
    exact.add(p);
    const e = encodeURIComponent(p);
    if (e !== p) {
      encoded.add(e);
      encoded.add(e.replaceAll('%20', '+'));
    }
  }
  const escape = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Longest first (a segment inside the path would leave the rest of it); percent-encoded forms in either case of
  // their hex digits, the others as written.
  const parts = [...[...encoded].map((p) => ({ p, flags: 'gi' })), ...[...exact].filter((p) => p.length > 1).map((p) => ({ p, flags: 'g' }))];
  let out = text;
  for (const { p, flags } of parts.sort((a, b) => b.p.length - a.p.length)) out = out.replace(new RegExp(escape(p), flags), '…');
  return out;
}

/**
 * A text with each login's password (as written and percent-decoded), `user:password` and that pair's Basic token
 * replaced by `[redacted]`; a password shorter than 3 characters is left (it would garble the text, and tells little).
 */
function withoutLogins(text: string, logins: readonly Login[]): string {
  const secrets = new Set<string>();
  for (const { user = '', password = '' } of logins) {
    if (password.length < 3) continue;
    const plain = `${decodeSafely(user)}:${decodeSafely(password)}`;
    for (const s of [password, decodeSafely(password), plain, Buffer.from(plain).toString('base64')]) secrets.add(s);
  }
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(s, '[redacted]');
  return out;
}

/**
 * A copy of an error with {@link withoutUrlParts} applied to its message and stack (its name and `code` kept), for
 * the `cause` of an error that is logged: a debug log's `err.cause` had the raw message with the secret path (a re-test).
 * @returns The error itself when it is no Error.
 */
export function errorWithoutUrlParts(error: unknown, url: string, login: Login = {}): unknown {
  if (!(error instanceof Error)) return error;
  const copy = new Error(withoutUrlParts(error.message, url, login));
  copy.name = error.name;
  copy.stack = error.stack === undefined ? undefined : withoutUrlParts(error.stack, url, login);
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}
