/**
 * REDACT_PATHS: the Kafka SASL password (and other secrets) never reach a log
 * line, whether logged alone, as `sasl`, or inside a settings object.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/config.ts';
import { REDACT_PATHS } from '../../../services/log.ts';
import { scrubSecrets, urlForMessages } from '../../../errors.ts';

/** A pino logger configured like createLogger's, writing JSON lines into `lines`. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } });
  return { logger: pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink), lines };
}

describe('REDACT_PATHS', () => {
  const kafka = loadConfig({ EDGELAT_KAFKA_BROKERS: 'k1:9093', EDGELAT_KAFKA_SASL_MECHANISM: 'plain', EDGELAT_KAFKA_SASL_USERNAME: 'svc', EDGELAT_KAFKA_SASL_PASSWORD: 'pa55-w0rd' }).kafka!;

  it.each([
    ['the settings object', { kafka }, (o: Record<string, any>) => o.kafka.sasl.password],
    ['the sasl object', { sasl: kafka.sasl }, (o: Record<string, any>) => o.sasl.password],
    ['a bare password', { password: kafka.sasl!.password }, (o: Record<string, any>) => o.password],
  ])('redacts the SASL password in %s', (_name, fields, pick) => {
    const { logger, lines } = capture();
    logger.info(fields, 'connecting');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('pa55-w0rd');
    expect(pick(JSON.parse(lines[0]!))).toBe('[redacted]');
  });

  it('keeps the user name and mechanism readable', () => {
    const { logger, lines } = capture();
    logger.info({ kafka }, 'connecting');
    expect(JSON.parse(lines[0]!).kafka.sasl).toEqual({ mechanism: 'plain', username: 'svc', password: '[redacted]' });
  });
});

describe('urlForMessages and scrubSecrets (secrets in free text: messages, error bodies)', () => {
  it.each([
    ['http://ops:WhPw55@hooks.example:6665/T0/SECRET?token=TOK', 'http://…@hooks.example:6665/…?token=…'],
    ['bob:secretpw@host:8081', '…@host:8081'],
    ['ftp://bob:p@ss@host:8081', 'ftp://…@host:8081'],
    ['http://u:p/ss@host/x', 'http://…@host/…'],
    ['http://localhost:8123/?database=x&password=q', 'http://localhost:8123/?database=…&password=…'],
    ['http://h:1/x?S3CRETTOKEN&a=b', 'http://h:1/…?…&a=…'],
    ['http://localhost:8123?password=q', 'http://localhost:8123?password=…'],
    ['broker:9092', 'broker:9092'],
    ['http://u:p@[::1', 'http://…@[::1'],
    ['https://hooks.example#frag', 'https://hooks.example'],
    ['http://u:p#w@host:1/x', 'http://…@host:1/…'],
  ])('shows %j as %j', (text, shown) => {
    expect(urlForMessages(text)).toBe(shown);
  });

  it('cuts an echoed Authorization header, URL credentials and password= values; leaves the rest', () => {
    const echoed = 'POST /?query_id=1 HTTP/1.1\r\nauthorization: Basic Y2h1c2VyOlMzY3JldENI\r\nProxy-Authorization: Bearer abc.def\r\nx-clickhouse-user: chuser';
    const out = scrubSecrets(echoed);
    expect(out).not.toContain('Y2h1c2VyOlMzY3JldENI');
    expect(out).not.toContain('abc.def');
    expect(out).toContain('authorization: [redacted]');
    expect(out).toContain('x-clickhouse-user: chuser');
    expect(scrubSecrets('{"authorization":"Basic Zm9vOmJhcg=="}')).toBe('{"authorization":"[redacted]"}');
    expect(scrubSecrets('GET http://u:pw@h:1/?database=d&password=s3 and token=abc')).toBe('GET http://[redacted]@h:1/?database=d&password=[redacted] and token=[redacted]');
    expect(scrubSecrets('code 516: Authentication failed')).toBe('code 516: Authentication failed');
    // Raw headers echoed as a JSON array: the value follows a comma (a re-test); and a Basic credential anywhere.
    expect(scrubSecrets('["Host","h","Authorization","Basic YWxpY2U6aHVudGVyMkAveA==","X","y"]')).toBe('["Host","h","Authorization","[redacted]","X","y"]');
    expect(scrubSecrets('echo: Basic YWxpY2U6aHVudGVyMkAveA== end')).toBe('echo: Basic [redacted] end');
  });
});

