/**
 * One alert POST against a local receiver (services/alerts/webhook.ts): a redirect is not followed and is a
 * refusal (fetch had turned a 301's POST into a GET without its body, recorded as delivered); credentials in the
 * URL go as Basic auth and, with the path and query, never into a message; a 429's Retry-After is waited out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookError } from '../../errors.ts';
import { alertChanges } from '../../services/alerts/alert-change.ts';
import { postAlert, retryAfterMs, webhookForLogs, webhookTarget } from '../../services/alerts/webhook.ts';
import { withRetry } from '../../services/retry.ts';
import { alertWindows } from '../helpers/alert-windows.ts';

const change = alertChanges(alertWindows())[0]!;

describe('postAlert', () => {
  const seen: { method: string; url: string; authorization: string | undefined; at: number }[] = [];
  let answer: (n: number) => { status: number; headers?: Record<string, string>; body?: string } = () => ({ status: 200 });
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, at: performance.now() });
      const a = answer(seen.length - 1);
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('does not follow a redirect: a 301 is a refusal naming where it points, and the receiver saw the POST only', async () => {
    seen.length = 0;
    answer = (n) => (n === 0 ? { status: 301, headers: { location: '/final?token=abc' } } : { status: 200 });
    const error = await postAlert(`${base()}/hook`, change).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ status: 301, retriable: false });
    expect((error as Error).message).toBe(`alert webhook ${base()}/… answered 301, a redirect to ${base()}/…: not followed (a redirected POST may arrive as a GET without its body); not retried: give the URL it redirects to`);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /hook']);
  });

  it('takes a redirect whose Location is no URL for a refusal too, naming it without its password (a trial: it ended the whole job)', async () => {
    seen.length = 0;
    answer = () => ({ status: 302, headers: { location: 'http://u:LocPw@[zz' } });
    const error = await postAlert(`${base()}/hook`, change).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ status: 302, retriable: false });
    expect((error as Error).message).toBe(`alert webhook ${base()}/… answered 302, a redirect to a Location that is not a URL (http://…@[zz): not followed (a redirected POST may arrive as a GET without its body); not retried: give the URL it redirects to`);
  });

  it('ends a request waiting for its answer when the stop signal aborts (a trial: SIGTERM waited out the whole timeout)', async () => {
    const silent = createServer(() => {}); // takes the request, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const stop = new AbortController();
      const pending = postAlert(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`, change, { timeoutMs: 60_000, signal: stop.signal }).catch((e: unknown) => e);
      setTimeout(() => stop.abort(), 200);
      const error = await pending;
      expect(error).toBeInstanceOf(WebhookError);
      expect(error).toMatchObject({ retriable: true });
      expect((error as Error).message).toMatch(/^alert webhook http:\/\/127\.0\.0\.1:\d+\/…: stopped while waiting for its answer$/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('sends user:password@ as Basic auth, and shows neither them nor the path or query in a message', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: 'x'.repeat(1 << 20) });
    const url = `http://alice:s3cr%3At@127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/SECRET?token=SECRET2`;
    expect(await postAlert(url, change)).toBe(200);
    expect(seen).toMatchObject([{ method: 'POST', url: '/services/T0/B0/SECRET?token=SECRET2', authorization: `Basic ${Buffer.from('alice:s3cr:t').toString('base64')}` }]);
    expect(webhookTarget(url).url).toBe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/SECRET?token=SECRET2`);
    // No receiver there: the message names the origin only.
    const closed = (await postAlert('http://bob:pw@127.0.0.1:9/hook?token=SECRET3', change, { timeoutMs: 2000 }).catch((e: unknown) => e)) as Error;
    expect(closed.message).toMatch(/^alert webhook http:\/\/127\.0\.0\.1:9\/…: no answer: /);
    expect(closed.message).not.toMatch(/bob|:pw|SECRET3|\/hook/);
    expect(webhookForLogs('https://hooks.example/')).toBe('https://hooks.example');
  });

  it('a refusal names what the receiver said, on one line, cut to 200 characters, without the URL\'s secrets it echoes (a trial: a 400 without its "why")', async () => {
    const url = `http://alice:pw-1@127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/SECRET?token=SECRET2`;
    const refused = async () => ((await postAlert(url, change).catch((e: unknown) => e)) as Error).message;
    const head = `alert webhook http://127.0.0.1:${(server.address() as AddressInfo).port}/… answered 400 (not retried: the receiver refuses this change)`;
    answer = () => ({ status: 400, body: '{"error":\n  "missing field \\"team\\""}\n' });
    expect(await refused()).toBe(`${head}: the receiver said ${JSON.stringify('{"error": "missing field \\"team\\""}')}`);
    answer = () => ({ status: 400, body: `bad request to /services/T0/SECRET?token=SECRET2 by alice (password pw-1): ${'x'.repeat(500)}` });
    const echoed = await refused();
    const said = 'bad request to [redacted]?[redacted] by [redacted] (password [redacted]): ';
    expect(echoed).toBe(`${head}: the receiver said ${JSON.stringify(`${said}${'x'.repeat(200 - said.length)}…`)}`);
    answer = () => ({ status: 403 });
    expect(await refused()).toBe(head.replace('400', '403'));
    // Echoed as sent: the Authorization header's Basic token, a query value as written (%2F), each path segment; and an
    // answer longer than the bytes kept, whose end falls inside a secret (a re-test: each of these passed).
    const raw = `http://alice:pw-1@127.0.0.1:${(server.address() as AddressInfo).port}/hook/SEGMENT42?x=1&token=Abc%2FDef%2BGhi%3DJkl`;
    const rawRefused = async () => ((await postAlert(raw, change).catch((e: unknown) => e)) as Error).message;
    answer = () => ({ status: 400, body: `auth: Basic ${Buffer.from('alice:pw-1').toString('base64')} token Abc%2FDef%2BGhi%3DJkl path SEGMENT42` });
    expect(await rawRefused()).toBe(`${head}: the receiver said "auth: Basic [redacted] token [redacted] path [redacted]"`);
    answer = () => ({ status: 400, body: `${'\n'.repeat(4085)}token=Abc%2FDef%2BGhi%3DJkl and more` });
    expect(await rawRefused()).toBe(`${head}: the receiver said "…"`);
  });

  it('waits out a 429\'s Retry-After, longer than its own back-off (a trial: 4 tries in 2.1 s after "Retry-After: 4")', async () => {
    seen.length = 0;
    answer = (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    expect(await withRetry(() => postAlert(`${base()}/hook`, change), { retries: 3, initialRetryTimeMs: 10, factor: 0 })).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(995);
  });

  it('reads Retry-After as seconds or an HTTP-date (RFC 9110 §10.2.3)', () => {
    expect(retryAfterMs('4')).toBe(4000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    expect(retryAfterMs('Fri, 04 Dec 2026 10:00:05 GMT', Date.UTC(2026, 11, 4, 10, 0, 0))).toBe(5000);
    expect(retryAfterMs('Fri, 04 Dec 2026 09:00:00 GMT', Date.UTC(2026, 11, 4, 10, 0, 0))).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
