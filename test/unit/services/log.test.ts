/**
 * REDACT_PATHS: the Kafka SASL password (and other secrets) never reach a log
 * line, whether logged alone, as `sasl`, or inside a settings object.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/config.ts';
import { REDACT_PATHS } from '../../../services/log.ts';

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
