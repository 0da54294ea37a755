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
