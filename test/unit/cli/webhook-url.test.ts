/**
 * checkWebhookUrl: a webhook on a port fetch never connects to (the Fetch standard's "bad ports") is
 * refused at start. A trial: `--alerts-webhook http://127.0.0.1:6000/hook` was accepted, and every
 * delivery failed with "bad port" and was retried for ever, so the demo never ended.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS } from '../../../services/alerts/webhook.ts';
import { alertsWebhookOf, checkWebhookUrl } from '../../../services/cli/common.ts';

describe('checkWebhookUrl', () => {
  it('names where the URL came from: the flag, else EDGELAT_ALERTS_WEBHOOK_URL (a port problem of the variable was worded as the flag\'s)', () => {
    expect(() => alertsWebhookOf(undefined, 'http://127.0.0.1:6000/hook?token=abc')).toThrow('EDGELAT_ALERTS_WEBHOOK_URL: port 6000 of "http://127.0.0.1:6000/…" is one fetch refuses');
    expect(() => alertsWebhookOf('http://127.0.0.1:0/x', 'http://127.0.0.1:8080/ok')).toThrow('--alerts-webhook: port 0 of');
    expect([alertsWebhookOf('http://a.example/1', 'http://b.example/2'), alertsWebhookOf(undefined, 'http://b.example/2'), alertsWebhookOf(undefined, null)])
      .toEqual(['http://a.example/1', 'http://b.example/2', undefined]);
  });

  it('refuses the ports fetch blocks, naming the port, and takes the others', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:6000/hook')).toThrow('--alerts-webhook: port 6000 of "http://127.0.0.1:6000/…" is one fetch refuses to connect to');
    expect(() => checkWebhookUrl('https://alerts.example:10080/')).toThrow(/port 10080/);
    expect([checkWebhookUrl('http://127.0.0.1:6001/hook'), checkWebhookUrl('https://alerts.example/hook')]).toEqual(['http://127.0.0.1:6001/hook', 'https://alerts.example/hook']);
    expect(() => checkWebhookUrl('ftp://x')).toThrow('--alerts-webhook: expected an http(s) URL, got "ftp://x"');
  });

  it('names a port past 65535 (the URL parser refuses it with the rest)', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:99999/x')).toThrow('--alerts-webhook: port 99999 of "http://127.0.0.1:99999/…" is past 65535, the largest TCP port');
    expect(() => checkWebhookUrl('https://u:p@[::1]:70000')).toThrow(/port 70000 of .* is past 65535/);
    expect(() => checkWebhookUrl('http://127.0.0.1:99999x/')).toThrow('--alerts-webhook: expected an http(s) URL, got "http://127.0.0.1:99999x/"');
    expect(checkWebhookUrl('http://127.0.0.1:65535/x')).toBe('http://127.0.0.1:65535/x');
    // Port 0: nothing listens there (a trial's demo retried for 10 minutes).
    expect(() => checkWebhookUrl('http://127.0.0.1:0/x')).toThrow('--alerts-webhook: port 0 of "http://127.0.0.1:0/…" is no port a receiver listens on: give the receiver\'s port');
  });

  it('shows a refused URL as every other message shows a webhook: scheme, host and port, never its password, path or query (a trial)', () => {
    const refused = (url: string): string => {
      try {
        checkWebhookUrl(url);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused('http://u:PW2@127.0.0.1:99999/SECRET2?t=Q2')).toBe('--alerts-webhook: port 99999 of "http://…@127.0.0.1:99999/…?t=…" is past 65535, the largest TCP port');
    expect(refused('https://u:PW5@127.0.0.1:6000/SECRET5?x=Q5')).toMatch(/^--alerts-webhook: port 6000 of "https:\/\/127\.0\.0\.1:6000\/…" is one fetch refuses/);
    expect(refused('ftp://u:PW1@127.0.0.1/SECRET1')).toBe('--alerts-webhook: expected an http(s) URL, got "ftp://127.0.0.1/…"');
    expect(refused('http://u:WhPw55@[::1')).toBe('--alerts-webhook: expected an http(s) URL, got "http://…@[::1"');
    expect(refused('u:WhPw55@host:9000/x')).toBe('--alerts-webhook: expected an http(s) URL, got "…@host:9000/…"');
    expect(refused('http://alice:hun#ter2@127.0.0.1:9000/tok3n')).toBe('--alerts-webhook: expected an http(s) URL, got "http://…@127.0.0.1:9000/…"');
    // An @ the parser puts in the path (a password with an unencoded /) is cut at too.
    expect(refused('http://alice:1/ter2@127.0.0.1:9000/tok3n')).toBe('--alerts-webhook: port 1 of "http://…@127.0.0.1:9000/…" is one fetch refuses to connect to (the Fetch standard\'s bad ports, e.g. 6000, 6665–6669, 10080): give the receiver another port');
    expect(refused('http://ops:WhPw55@hooks.example:6665/T0/SECRETPATH?token=TOK')).toMatch(/^--alerts-webhook: port 6665 of "http:\/\/hooks\.example:6665\/…" is one fetch refuses/);
    // A "%" that starts no escape is refused now, not "URI malformed" at the first alert, hours in (a trial).
    expect(refused('http://u:50%off@127.0.0.1:18081/hook')).toBe('--alerts-webhook "http://127.0.0.1:18081/…": its password has a "%" that starts no percent-escape (%XX): write a "%" of it as %25');
    expect(refused('http://a%zz:pw@127.0.0.1:18081/hook')).toBe('--alerts-webhook "http://127.0.0.1:18081/…": its user has a "%" that starts no percent-escape (%XX): write a "%" of it as %25');
    expect(refused('http://u:50%25off@127.0.0.1:18081/hook')).toBe('accepted');
  });

  it('blocks the same ports as undici, the fetch Node runs', () => {
    const { badPorts } = createRequire(import.meta.url)('undici/lib/web/fetch/constants.js') as { badPorts: readonly string[] };
    expect([...FETCH_BAD_PORTS].sort((a, b) => a - b)).toEqual(badPorts.map(Number).sort((a, b) => a - b));
  });
});
