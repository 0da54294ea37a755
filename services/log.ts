import pino, { type Logger } from 'pino';

/** Paths whose values never reach a log line (DESIGN §7). */
export const REDACT_PATHS = ['password', '*.password', 'sasl.password', '*.sasl.password', 'config.password', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'];

/**
 * Create the root pino logger: JSON lines on stderr (stdout stays for command
 * output), secrets redacted. Level from `level`, default 'info'; 'silent' in tests.
 */
export function createLogger(level: string = 'info'): Logger {
  return pino({ name: 'edgelat', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}

export type { Logger };
