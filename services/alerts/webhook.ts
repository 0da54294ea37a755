/**
 * POST of one alert state change to a webhook (JSON body, `Idempotency-Key`
 * header as in the IETF httpapi draft, so a receiver can drop a repeat).
 */
import { decodeSafely, urlForMessages, WebhookError } from '../../errors.ts';
import type { AlertChange } from './alert-change.ts';

/** Options of {@link postAlert}. */
export interface WebhookOptions {
  /** Longest wait for an answer, ms. @default 10000 */
  timeoutMs?: number;
  /** The fetch to use (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Ends a request waiting for its answer when aborted (SIGTERM): it fails as retriable, and a retry loop with the same
   * signal stops (a trial: a stop waited out the whole timeout of a receiver that never answered). @default none
   */
  signal?: AbortSignal;
}

/** Whether a text is an absolute http(s) URL (the only webhooks accepted). */
export function isHttpUrl(text: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * Ports that fetch refuses to connect to, every time ("bad port"): the WHATWG Fetch standard's list
 * (https://fetch.spec.whatwg.org/#port-blocking), as Node's fetch (undici) applies it.
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
  139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723,
  2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** HTTP statuses worth retrying besides 5xx: request timeout, too early, too many requests. */
const RETRY_4XX = new Set([408, 425, 429]);

/** Most bytes of a receiver's answer read (then the rest is cancelled): a webhook's answer is not used. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * A webhook URL as messages and logs show it: scheme, host and port only. The path and query of a webhook
 * often hold its secret (Slack's /services/T…/B…/…, ?token=), and user:password@ is a secret (a trial printed
 * both in every retry's log line).
 */
export function webhookForLogs(url: string): string {
  try {
    const u = new URL(url);
    if (u.host === '') return urlForMessages(url); // `user:pw@host/x` parses as scheme `user:`
    // An @ the parser put in the path or query may end a password that held `/` (`http://alice:12/3@host/x` parses as
    // host alice, port 12): cut at the last @, as for text that is no URL (a re-test).
    if (u.username === '' && u.password === '' && url.slice(u.protocol.length).includes('@')) return urlForMessages(url);
    // protocol and host, not origin: a scheme without one (`foo://…`) has the origin "null".
    return `${u.protocol}//${u.host}${u.pathname === '/' && u.search === '' ? '' : '/…'}`;
  } catch {
    return urlForMessages(url); // not a URL the parser takes: its credentials, path and query still go
  }
}

/**
 * Why a URL's user or password cannot be read (null when it can): a `%` that starts no percent-escape (`50%off`),
 * which decodeURIComponent refuses ("URI malformed") when the request is made, hours into a run for a webhook
 * (a trial). Names neither the user nor the password.
 */
export function userinfoProblem(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const u = new URL(url);
  for (const [part, text] of [['user', u.username], ['password', u.password]] as const) {
    try {
      decodeURIComponent(text);
    } catch {
      return `its ${part} has a "%" that starts no percent-escape (%XX): write a "%" of it as %25`;
    }
  }
  return null;
}

/**
 * The request a URL makes: fetch refuses a URL with credentials in it ("Request cannot be constructed from a
 * URL that includes credentials"), so user:password@ becomes an `Authorization: Basic` header (RFC 7617).
 */
export function webhookTarget(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return { url, headers: {} };
  const credentials = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = '';
  u.password = '';
  return { url: u.href, headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

/**
 * Retry-After of an answer, ms (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or undefined without a valid one.
 * @param now  The current time, epoch ms (for an HTTP-date).
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * Read at most {@link MAX_ANSWER_BYTES} of an answer's body, then cancel the rest (a trial: a 200 MB answer took 1.5 s
 * and 1 GB a delivery).
 * @returns Its first {@link ANSWER_HEAD_BYTES} bytes, and whether it went on past them (`cut`).
 */
async function drainAnswer(res: Response): Promise<{ head: Buffer; cut: boolean }> {
  const reader = res.body?.getReader();
  const head: Uint8Array[] = [];
  let read = 0;
  if (!reader) return { head: Buffer.alloc(0), cut: false };
  try {
    while (read <= MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      if (read < ANSWER_HEAD_BYTES) head.push(value.subarray(0, ANSWER_HEAD_BYTES - read));
      read += value.byteLength;
    }
    if (read > MAX_ANSWER_BYTES) await reader.cancel();
  } catch {
    // An answer cut short changes nothing: its status is what counts.
  }
  return { head: Buffer.concat(head), cut: read > ANSWER_HEAD_BYTES };
}

/** Bytes of a refusal's answer kept for its message ({@link refusalText}). */
const ANSWER_HEAD_BYTES = 4096;

/**
 * What a receiver's refusal says, for its message (a trial: a 400 logged without the body that said why): the answer's
 * first bytes as one line of printable text, at most 200 characters, with every secret of the URL ({@link urlSecrets},
 * which {@link webhookForLogs} hides) of 3 characters or more replaced by `[redacted]` in case the answer echoes them;
 * '' for an empty answer.
 * @param answer  The answer's first bytes.
 * @param url     The webhook URL as given (with its credentials).
 * @param cut     Whether the answer went on past `answer` (its end may fall inside a secret). @default false
 */
export function refusalText(answer: Buffer, url: string, cut = false): string {
  const oneLine = (t: string): string => t.replace(/[\p{Cc}\p{Cf}\s]+/gu, ' ');
  let text = oneLine(answer.toString('utf8')).trim();
  if (text === '') return '';
  const secrets = [...urlSecrets(url)].map(oneLine).filter((s) => s.trim().length >= 3).sort((a, b) => b.length - a.length);
  // An answer longer than the bytes kept may end inside a secret, whose start would not match it: the last characters,
  // as many as the longest secret has, are left out (a re-test: "token=Abc%2FDef" of a longer token).
  if (cut && secrets.length > 0) text = text.slice(0, Math.max(0, text.length - secrets[0]!.length));
  for (const s of secrets) text = text.replaceAll(s, '[redacted]');
  return `: the receiver said ${JSON.stringify(text.length > 200 || cut ? `${text.slice(0, 200)}…` : text)}`;
}

/**
 * Every form of a URL's secrets an answer may echo: the user and password as written and decoded, `user:password`
 * and its Basic token (the Authorization header edgelat sends), the path and each of its segments, the query and each
 * of its values, as written and decoded (a re-test: an echoed Authorization header and a raw `%2F` token passed).
 */
function urlSecrets(url: string): Set<string> {
  const secrets = new Set<string>();
  if (!URL.canParse(url)) return secrets;
  const u = new URL(url);
  const both = (s: string): string[] => [s, decodeSafely(s)];
  if (u.username !== '' || u.password !== '') {
    const credentials = `${decodeSafely(u.username)}:${decodeSafely(u.password)}`;
    for (const s of [...both(u.username), ...both(u.password), credentials, Buffer.from(credentials).toString('base64')]) secrets.add(s);
  }
  if (u.pathname.length > 1) for (const s of [u.pathname, ...u.pathname.split('/')]) for (const f of both(s)) secrets.add(f);
  const query = u.search.slice(1);
  if (query !== '') {
    for (const s of both(query)) secrets.add(s);
    for (const pair of query.split('&')) for (const s of both(pair.slice(pair.indexOf('=') + 1))) secrets.add(s);
    for (const s of u.searchParams.values()) secrets.add(s);
  }
  return secrets;
}

/**
 * Where a redirect points, for its message (` to http://host:port/…`; '' without a Location). A Location that is no
 * URL is named so, not parsed into a TypeError (a trial's `Location: http://u:pw@[zz` ended the whole job, and its
 * debug log printed the Location's password).
 */
function redirectTarget(location: string | null, base: string): string {
  if (!location) return '';
  try {
    return ` to ${webhookForLogs(new URL(location, base).href)}`;
  } catch {
    return ` to a Location that is not a URL (${urlForMessages(location)})`;
  }
}

/**
 * Send one change. Credentials in the URL go as an Authorization header ({@link webhookTarget}); a redirect is not
 * followed; at most 64 KiB of the answer is read; messages show the URL as {@link webhookForLogs}.
 * @returns The receiver's HTTP status (2xx).
 * @throws {WebhookError} retriable on no answer (network error, timeout), 5xx, 408, 425 or 429 (with the answer's
 *         Retry-After as `retryAfterMs`); not retriable on a 3xx or any other status (refused for good).
 */
export async function postAlert(url: string, change: AlertChange, options: WebhookOptions = {}): Promise<number> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const shown = webhookForLogs(url);
  const target = webhookTarget(url);
  let res: Response;
  try {
    res = await doFetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': change.idempotency_key, 'user-agent': 'edgelat-alerts', ...target.headers },
      body: JSON.stringify(change),
      // Not followed: fetch turns a POST redirected by 301/302/303 into a GET without its body, and a trial's
      // receiver got 22 empty GETs recorded as delivered.
      redirect: 'manual',
      signal: options.signal ? AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 10_000), options.signal]) : AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const cause = (e.cause?.code ?? e.cause?.message ?? e.message).replaceAll(url, shown).replaceAll(target.url, shown);
    const why = e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 10_000} ms (EDGELAT_ALERTS_TIMEOUT_MS)` : options.signal?.aborted ? 'stopped while waiting for its answer' : `no answer: ${cause}`;
    throw new WebhookError(`alert webhook ${shown}: ${why}`, null, { retriable: true, cause: error });
  }
  const answer = await drainAnswer(res); // read, so the connection is reused; its start kept for a refusal's message
  if (res.status >= 200 && res.status < 300) return res.status;
  if (res.status >= 300 && res.status < 400) {
    throw new WebhookError(`alert webhook ${shown} answered ${res.status}, a redirect${redirectTarget(res.headers.get('location'), target.url)}: not followed (a redirected POST may arrive as a GET without its body); not retried: give the URL it redirects to`, res.status, { retriable: false });
  }
  const retriable = res.status >= 500 || RETRY_4XX.has(res.status);
  throw new WebhookError(`alert webhook ${shown} answered ${res.status}${retriable ? '' : ` (not retried: the receiver refuses this change)${refusalText(answer.head, url, answer.cut)}`}`, res.status, { retriable, retryAfterMs: retriable ? retryAfterMs(res.headers.get('retry-after')) : undefined });
}
