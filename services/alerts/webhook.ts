/**
 * POST of one alert state change to a webhook (JSON body, `Idempotency-Key`
 * header as in the IETF httpapi draft, so a receiver can drop a repeat).
 */
import { WebhookError } from '../../errors.ts';
import type { AlertChange } from './alert-change.ts';

/** Options of {@link postAlert}. */
export interface WebhookOptions {
  /** Longest wait for an answer, ms. @default 10000 */
  timeoutMs?: number;
  /** The fetch to use (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
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

/**
 * Send one change.
 * @returns The receiver's HTTP status (2xx).
 * @throws {WebhookError} retriable on no answer (network error, timeout), 5xx, 408, 425 or 429;
 *         not retriable on any other status (the receiver refuses the change for good).
 */
export async function postAlert(url: string, change: AlertChange, options: WebhookOptions = {}): Promise<number> {
  const doFetch = options.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': change.idempotency_key, 'user-agent': 'edgelat-alerts' },
      body: JSON.stringify(change),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 10_000} ms (EDGELAT_ALERTS_TIMEOUT_MS)` : `no answer: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
    throw new WebhookError(`alert webhook ${url}: ${why}`, null, { retriable: true, cause: error });
  }
  await res.arrayBuffer().catch(() => undefined); // drain, so the connection is reused
  if (res.status >= 200 && res.status < 300) return res.status;
  const retriable = res.status >= 500 || RETRY_4XX.has(res.status);
  throw new WebhookError(`alert webhook ${url} answered ${res.status}${retriable ? '' : ' (not retried: the receiver refuses this change)'}`, res.status, { retriable });
}
