/**
 * checkWebhookUrl: a webhook on a port fetch never connects to (the Fetch standard's "bad ports") is
 * refused at start. A trial: `--alerts-webhook http://127.0.0.1:6000/hook` was accepted, and every
 * delivery failed with "bad port" and was retried for ever, so the demo never ended.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS } from '../../../services/alerts/webhook.ts';
import { checkWebhookUrl } from '../../../services/cli/common.ts';

describe('checkWebhookUrl', () => {
  it('refuses the ports fetch blocks, naming the port, and takes the others', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:6000/hook')).toThrow('--alerts-webhook: port 6000 of "http://127.0.0.1:6000/hook" is one fetch refuses to connect to');
    expect(() => checkWebhookUrl('https://alerts.example:10080/')).toThrow(/port 10080/);
    expect([checkWebhookUrl('http://127.0.0.1:6001/hook'), checkWebhookUrl('https://alerts.example/hook')]).toEqual(['http://127.0.0.1:6001/hook', 'https://alerts.example/hook']);
    expect(() => checkWebhookUrl('ftp://x')).toThrow('--alerts-webhook: expected an http(s) URL, got "ftp://x"');
  });

  it('names a port past 65535 (the URL parser refuses it with the rest)', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1:99999/x')).toThrow('--alerts-webhook: port 99999 of "http://127.0.0.1:99999/x" is past 65535, the largest TCP port');
    expect(() => checkWebhookUrl('https://u:p@[::1]:70000')).toThrow(/port 70000 of .* is past 65535/);
    expect(() => checkWebhookUrl('http://127.0.0.1:99999x/')).toThrow('--alerts-webhook: expected an http(s) URL, got "http://127.0.0.1:99999x/"');
    expect(checkWebhookUrl('http://127.0.0.1:65535/x')).toBe('http://127.0.0.1:65535/x');
    // Port 0: nothing listens there (a trial's demo retried for 10 minutes).
    expect(() => checkWebhookUrl('http://127.0.0.1:0/x')).toThrow('--alerts-webhook: port 0 of "http://127.0.0.1:0/x" is no port a receiver listens on: give the receiver\'s port');
  });

  it('blocks the same ports as undici, the fetch Node runs', () => {
    const { badPorts } = createRequire(import.meta.url)('undici/lib/web/fetch/constants.js') as { badPorts: readonly string[] };
    expect([...FETCH_BAD_PORTS].sort((a, b) => a - b)).toEqual(badPorts.map(Number).sort((a, b) => a - b));
  });
});
