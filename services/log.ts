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
 * an `Authorization`/`Proxy-Authorization` header's value, `user:password@` after `//`, and `password=`, `token=`
 * or `secret=` values. For free text pino's `redact` paths cannot reach (a trial: a server that echoed the request
 * put `authorization: Basic …`, the ClickHouse password in base64, into the debug log).
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(?:basic|bearer|digest)\s+)?[^\s"',;]+/gi, '$1[redacted]')
    .replace(/\/\/[^/@\s]*@/g, '//[redacted]@')
    .replace(/\b(password|passwd|token|secret)=[^&\s"']*/gi, '$1=[redacted]');
}

export type { Logger };
