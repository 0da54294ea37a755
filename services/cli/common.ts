/**
 * Helpers shared by the CLI's command modules: flag parsers and file readers.
 * Light on purpose: every command's registration loads this module, so what
 * opens a warehouse lives in open-warehouse.ts, loaded by the actions.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from './usage-error.ts';
import { FETCH_BAD_PORTS, isHttpUrl, userinfoProblem, webhookForLogs } from '../alerts/webhook.ts';
import { parseTimeText } from '../calendar-date.ts';
import { MAX_DIM, MAX_ID_CHARS, MAX_IDS_PER_LIST, MAX_PROFILE_DIMS } from '../predictor/types.ts';
import { BIDI_OR_SEPARATOR, codePoint, idProblem, quoteName } from '../names.ts';
import { normalizeSimConfig } from '../simulator/config.ts';
import type { SimConfig } from '../simulator/types.ts';

/** A number as a user writes it, in decimal notation (`Number()` also takes `0x10`, `0b1` and `Infinity`, which a user does not mean). */
export const DECIMAL_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** An integer as a user writes it: decimal digits, or decimal scientific notation (`1e6`, `2.5e3`). */
const INTEGER_TEXT = /^\+?\d+(\.\d*)?([eE]\+?\d+)?$/;

/** The exit code every command that opens the embedded warehouse has, as its help says it (main.ts sets it). */
export const LOCKED_HELP = '75 another edgelat process still held the embedded warehouse after EDGELAT_LOCK_WAIT_S (try again), or at once when the holder is `edgelat serve`, which holds it until stopped (the line names its ClickHouse port: run the command with EDGELAT_CLICKHOUSE_URL set to it; a command that writes needs serve --sql-write)';

/**
 * Parse an integer flag within [min, max]: decimal digits, or scientific notation whose value is an
 * integer (`--input-bytes 1e6`). @throws {InvalidArgumentError} naming the flag, the bound and the value.
 */
export function intFlag(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return Object.assign((value: string): number => {
    const n = Number(value);
    const text = INTEGER_TEXT.test(value.trim());
    if (!text || !Number.isSafeInteger(n) || n < min || n > max) {
      // Past JavaScript's safe integers the bound is what was broken: say so.
      const tooBig = (text && Number.isInteger(n) && n > max) || n === Infinity;
      const range = max === Number.MAX_SAFE_INTEGER ? (tooBig ? `an integer from ${min} to ${max} (2^53 − 1)` : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
      throw new InvalidArgumentError(`${name} must be ${range}, got ${JSON.stringify(value)}`);
    }
    return n;
  }, { range: { min, max } });
}

/**
 * Say in the help of every option that {@link intFlag} parses the range it takes, where its description does not
 * already (a --help audit: `--poll-ms`, `--duration`, `--sql-timeout` refused values their help never bounded):
 * `(whole number MIN to MAX)`, or `(whole number >= MIN)` without a bound.
 * @param command  The program; its subcommands are walked too.
 */
export function stateIntRanges(command: Command): void {
  for (const option of command.options) {
    const range = (option.parseArg as { range?: { min: number; max: number } } | undefined)?.range;
    if (range === undefined) continue;
    const { min, max } = range;
    const said = [String(max), max.toLocaleString('en-US'), max.toExponential().replace('e+', 'e')].some((t) => option.description.includes(t));
    if (max !== Number.MAX_SAFE_INTEGER && said) continue;
    if (max === Number.MAX_SAFE_INTEGER && new RegExp(`(>=|≥|at least) ?${min}\\b`).test(option.description)) continue;
    const text = max === Number.MAX_SAFE_INTEGER ? `whole number >= ${min}` : `whole number ${min} to ${max}`;
    option.description = option.description === '' ? text : `${option.description} (${text})`;
  }
  for (const sub of command.commands) stateIntRanges(sub);
}

/**
 * Parse a repeatable `--dim NAME=N` (a named symbolic dim of an ONNX model's inputs, other than the batch) into the
 * dims gathered so far: NAME non-empty, N an integer 1..{@link MAX_DIM}; a name given twice is refused, and so is
 * a dim past the {@link MAX_PROFILE_DIMS}th (as `POST /v1/profile` refuses a 65th `?dim=`).
 * @throws {InvalidArgumentError} naming the flag and the value.
 */
export function dimFlag(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(.*)$/.exec(value);
  if (!m || m[1]!.trim() === '') throw new InvalidArgumentError(`--dim must be NAME=N (a symbolic dim of the model's inputs, e.g. seq=128), got ${JSON.stringify(value)}`);
  const name = m[1]!;
  if (Object.prototype.hasOwnProperty.call(previous, name)) throw new InvalidArgumentError(`--dim ${quoteName(name)} given twice (${previous[name]} and ${quoteName(m[2]!)})`);
  const n = intFlag(`--dim ${name}`, 1, MAX_DIM)(m[2]!);
  const given = Object.keys(previous).length + 1;
  if (given > MAX_PROFILE_DIMS) throw new InvalidArgumentError(`--dim takes at most ${MAX_PROFILE_DIMS} dims (one --dim NAME=N each; ${quoteName(name)} is the ${given}th)`);
  return { ...previous, [name]: n };
}

/**
 * Parse an id flag (`predict --model`, `--chip`, `--server`, `import benchmark --source`): at most
 * {@link MAX_ID_CHARS} characters, as the API takes, not blank, no control characters, no blanks around it, no characters
 * that do not show (names.ts `idProblem`). A trial: a 40,000-character `--chip` crashed onnxruntime's session creation (exit 139, no message).
 * @throws {InvalidArgumentError} naming the flag, the limit and the length given.
 */
export function idFlag(name: string) {
  return (value: string): string => {
    if (value.length > MAX_ID_CHARS) throw new InvalidArgumentError(`${name} must be at most ${MAX_ID_CHARS} characters, got ${value.length}`);
    if (value.trim() === '') throw new InvalidArgumentError(`${name} must not be empty, got ${JSON.stringify(value)}`);
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError(`${name} must not hold control characters (a line break, a tab), got ${JSON.stringify(value)}`);
    // Bidirectional marks and line separators reorder or break the messages an id is echoed in (a re-test: whatif --server "edge-02\u202e").
    const mark = BIDI_OR_SEPARATOR.exec(value);
    if (mark) throw new InvalidArgumentError(`${name} must not hold bidirectional or line-separator marks, got ${codePoint(mark[0])}`);
    // The rest of the one id rule, as POST /v1/predict and /v1/gate apply it: no blanks around it, whole characters that show.
    const problem = idProblem(name, value);
    if (problem) throw new InvalidArgumentError(problem);
    return value;
  };
}

/** A host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens, at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parse an interface flag (`--host`, `--metrics-host`): an address or host name, surrounding blanks dropped.
 * An empty value is refused: Node would listen on every interface (an unset `$HOST` in a script).
 */
export function hostFlag(name: string) {
  return (value: string): string => {
    const host = value.trim();
    if (host === '' || /\s/.test(host)) throw new InvalidArgumentError(`${name} must be an interface address or host name (e.g. 127.0.0.1, or 0.0.0.0 for every interface), got ${JSON.stringify(value)}`);
    // Four numbers with dots are an IPv4 address or nothing (a trial: 999.1.1.1 was looked up as a host name, exit 1).
    if (/^[\d.]+$/.test(host) && !isIPv4(host)) throw new InvalidArgumentError(`${name} must be an interface address or host name, got ${JSON.stringify(value)}: not an IPv4 address (four numbers 0..255)`);
    // An IPv6 address, bracketed or not; else a host name of letters, digits, hyphens and dots (a re-test: 1::2::3,
    // 999.1.1.1:80 and 1.1.1.1/24 were looked up as names, exit 1, after the exposure warning).
    const inner = /^\[(.*)\]$/.exec(host)?.[1] ?? host;
    if (inner.includes(':')) {
      if (!isIPv6(inner)) throw new InvalidArgumentError(`${name} must be an interface address or host name, got ${JSON.stringify(value)}: not an IPv6 address (a port goes to --port)`);
      return inner;
    }
    if (!HOST_NAME.test(host)) throw new InvalidArgumentError(`${name} must be an interface address or host name, got ${JSON.stringify(value)}: a host name is letters, digits, hyphens and dots`);
    return host;
  };
}

/**
 * Check the alert webhook's URL.
 * @param url     The URL.
 * @param source  Where it came from, named in the errors. @default '--alerts-webhook'
 * @throws {UsageError} when it is not an http(s) URL, names a port fetch never connects to, or has a login that cannot be read.
 */
export function checkWebhookUrl(url: string, source = '--alerts-webhook'): string {
  // As every other message shows a webhook: scheme, host and port (a trial: a mistyped port printed the URL's password, path and token).
  const shown = JSON.stringify(webhookForLogs(url));
  if (!isHttpUrl(url)) {
    // The URL parser refuses a port past 65535 with the rest: name it (a trial's :99999 read "expected an http(s) URL").
    const port = /^https?:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/i.exec(url)?.[1];
    if (port !== undefined && Number(port) > 65_535) throw new UsageError(`${source}: port ${port} of ${shown} is past 65535, the largest TCP port`);
    throw new UsageError(`${source}: expected an http(s) URL, got ${shown}`);
  }
  const port = Number(new URL(url).port);
  // Nothing listens on port 0 (a trial's demo retried ECONNREFUSED for 10 minutes).
  if (new URL(url).port === '0') throw new UsageError(`${source}: port 0 of ${shown} is no port a receiver listens on: give the receiver's port`);
  // Every delivery would fail with "bad port" and be retried for ever.
  if (FETCH_BAD_PORTS.has(port)) throw new UsageError(`${source}: port ${port} of ${shown} is one fetch refuses to connect to (the Fetch standard's bad ports, e.g. 6000, 6665–6669, 10080): give the receiver another port`);
  const userinfo = userinfoProblem(url);
  if (userinfo !== null) throw new UsageError(`${source} ${shown}: ${userinfo}`);
  return url;
}

/**
 * The alert webhook of a command: `--alerts-webhook`, else EDGELAT_ALERTS_WEBHOOK_URL (which keeps a token out of the
 * command line), checked by {@link checkWebhookUrl} with the errors naming where it came from.
 * @param flag      The flag's value, if given.
 * @param fromEnv   The variable's value (the configuration's `alertsWebhookUrl`), or null.
 * @returns         The URL, or undefined when neither is set.
 * @throws {UsageError} as {@link checkWebhookUrl}.
 */
export function alertsWebhookOf(flag: string | undefined, fromEnv: string | null): string | undefined {
  if (flag !== undefined) return checkWebhookUrl(flag);
  return fromEnv === null ? undefined : checkWebhookUrl(fromEnv, 'EDGELAT_ALERTS_WEBHOOK_URL');
}

/**
 * Parse `--allowed-hosts a.example,10.0.0.5,::1` (names or addresses; an IPv6 one bare or in brackets), or `any`.
 * Each is normalised as a request's Host is before it is compared (URL rules: lower case, IPv6 compressed,
 * brackets dropped), so that every name given can match.
 * @throws {InvalidArgumentError} on an empty list, or an entry with blanks, a port, a path or no host.
 */
export function allowedHostsFlag(value: string): string[] | 'any' {
  if (value.trim().toLowerCase() === 'any') return 'any';
  const entries = value.split(',').map((x) => x.trim()).filter(Boolean);
  if (entries.length === 0) throw new InvalidArgumentError('--allowed-hosts: name at least one host (or "any")');
  return entries.map((entry) => {
    const bad = () => new InvalidArgumentError(`--allowed-hosts: expected a host name or address without port or path, got ${JSON.stringify(entry)}`);
    // A bare IPv6 address has colons; anything else with one is a host with a port.
    const ipv6 = !entry.startsWith('[') && entry.includes(':') ? `[${entry}]` : entry;
    let url: URL;
    try {
      url = new URL(`http://${ipv6}`);
    } catch {
      throw bad();
    }
    if (/[\s/?#@]/.test(entry) || url.port !== '' || url.hostname === '' || /:$/.test(entry)) throw bad();
    return url.hostname.replace(/^\[(.*)\]$/, '$1');
  });
}

/**
 * Parse `--alerts-states firing,resolved`.
 * @throws {InvalidArgumentError} naming an unknown state.
 */
export function alertStatesFlag(value: string): Set<string> {
  const names = value.split(',').map((x) => x.trim()).filter(Boolean);
  const known = ['none', 'rising', 'firing', 'resolved'];
  for (const n of names) if (!known.includes(n)) throw new InvalidArgumentError(`--alerts-states: unknown state ${JSON.stringify(n)} (known: ${known.join(', ')})`);
  if (names.length === 0) throw new InvalidArgumentError('--alerts-states: name at least one of none, rising, firing, resolved');
  return new Set(names);
}

/** Parse a decimal flag (plain or scientific notation), > min (or ≥ min when `inclusive`) and ≤ max. */
export function numberFlag(name: string, min: number, inclusive = false, max = Number.MAX_VALUE) {
  return (value: string): number => {
    const n = Number(value);
    if (!DECIMAL_TEXT.test(value) || !Number.isFinite(n) || (inclusive ? n < min : n <= min) || n > max) {
      // A value past the largest double (1e400) reads as Infinity: say that, not only the bound it meets.
      const upper = max === Number.MAX_VALUE ? (DECIMAL_TEXT.test(value) && n === Infinity ? ' and finite (at most about 1.8e308)' : '') : ` and <= ${max}`;
      throw new InvalidArgumentError(`${name} must be a number ${inclusive ? '>=' : '>'} ${min}${upper}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/**
 * Parse a time flag as `parseTimeText` reads it: epoch ms in digits (10–11 digits from 1e9 are refused as epoch
 * seconds), or an ISO 8601 date or date-time, UTC unless it names a zone; before 2300. Other date forms are refused
 * (`Date.parse` read `2024/06/01 10:20` in the machine's local time, and `12` as 2001-12-01).
 * @throws {InvalidArgumentError} naming the flag and value.
 */
export function timeFlag(name: string) {
  return (value: string): number => {
    const t = parseTimeText(value.trim());
    if ('problem' in t) throw new InvalidArgumentError(`${name} ${t.problem}, got ${JSON.stringify(value)}`);
    return t.ms;
  };
}

/** Largest ONNX file the CLI reads, bytes (the same cap as `edgelat serve`'s uploads). */
export const ONNX_FILE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Read an ONNX file a flag names: a regular file of at most `limitBytes`.
 * @param flag        The flag, for messages (`--onnx`).
 * @param path        The path given.
 * @param limitBytes  Largest size read, bytes. @default ONNX_FILE_LIMIT_BYTES
 * @throws {UsageError} naming the flag and path: an empty path, no such file, not a regular file
 *   (a FIFO or device such as /dev/zero would block or never end), too large, or unreadable.
 */
export function readOnnxFile(flag: string, path: string, limitBytes = ONNX_FILE_LIMIT_BYTES): Buffer {
  if (path.trim() === '') throw new UsageError(`${flag}: expected the path of an ONNX file, got ${JSON.stringify(path)}`);
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${flag} ${JSON.stringify(path)}: is a directory`);
    if (!st.isFile()) throw new UsageError(`${flag} ${JSON.stringify(path)}: not a regular file (a pipe or device is not read)`);
    if (st.size > limitBytes) throw new UsageError(`${flag} ${JSON.stringify(path)}: ${st.size} bytes, more than the limit of ${limitBytes} bytes`);
    return readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${flag} ${JSON.stringify(path)}: ${unreadable(error)}`);
  }
}

/**
 * Largest file an import reads (benchmark runs and systems, HELP tables, chip catalogs, profiles), bytes: 64 MiB, 24×
 * the largest public file of its kinds (HELP's 2.7 MB architectures.csv); a file is parsed whole in memory.
 */
export const IMPORT_FILE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Why a path cannot be an import's input, or null: a directory, not a regular file (a FIFO blocks the read until
 * a writer comes, with the warehouse held and signals unanswered; /dev/zero never ends: a trial's import grew to
 * 2.1 GB in 8 s), or larger than `limitBytes`. Errors of `stat` (no such file) are thrown.
 */
function notAnInputFile(path: string, limitBytes: number): string | null {
  const st = statSync(path);
  if (st.isDirectory()) return 'is a directory';
  if (!st.isFile()) return 'not a regular file (a pipe or device is not read)';
  if (st.size > limitBytes) return `${st.size.toLocaleString('en-US')} bytes, more than the limit of ${limitBytes.toLocaleString('en-US')} bytes for an input file`;
  return null;
}

/**
 * Check that a file can be read as an import's input, before a command opens the warehouse: a mistyped path must not
 * leave an empty warehouse behind, and a pipe must not hold it.
 * @param path        The path given.
 * @param label       How messages name it, e.g. `--runs runs.csv`.
 * @param limitBytes  Largest size, bytes. @default IMPORT_FILE_LIMIT_BYTES
 * @throws {UsageError} `<label>: no such file | is a directory | permission denied | not a regular file … | N bytes, more
 *   than the limit …`, as the readers say it.
 */
export function assertReadableFile(path: string, label: string, limitBytes = IMPORT_FILE_LIMIT_BYTES): void {
  let why: string | null;
  try {
    why = notAnInputFile(path, limitBytes);
    if (why === null) accessSync(path, constants.R_OK);
  } catch (error) {
    throw new UsageError(`${label}: ${unreadable(error)}`);
  }
  if (why !== null) throw new UsageError(`${label}: ${why}`);
}

/**
 * Read an import's input file as UTF-8 text (a byte-order mark kept: the parsers take it), after the checks of
 * {@link assertReadableFile}: the file may have changed since.
 * @param path        The path given.
 * @param label       How messages name it, e.g. `--runs runs.csv`.
 * @param limitBytes  Largest size, bytes. @default IMPORT_FILE_LIMIT_BYTES
 * @throws {UsageError} as {@link assertReadableFile}.
 */
export function readInputText(path: string, label: string, limitBytes = IMPORT_FILE_LIMIT_BYTES): string {
  assertReadableFile(path, label, limitBytes);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${label}: ${unreadable(error)}`);
  }
}

/** Why a file could not be read, in words ('no such file', 'is a directory', 'permission denied', or the error's message). */
export function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
}

/**
 * Options of `command` that take one value and appear more than once in `args` (`--model a --model b`: commander
 * keeps the last without a word). Options that collect values are not counted: variadic ones (`--load`)
 * and those whose parser adds each value to the previous ones (`sql --param`, `gate --servers a --servers b`: fed two values, it
 * returns both in an array). Flags without a value are not counted either; nothing after a `--` is read. A short
 * option counts with its value attached too (`-fcsv`).
 * @param command  The command whose action runs.
 * @param args     The command line after the program name (process.argv.slice(2)).
 * @returns        The long names given twice or more, in the command's option order.
 */
export function repeatedOptions(command: Pick<Command, 'options'>, args: readonly string[]): string[] {
  const end = args.indexOf('--');
  const tokens = end < 0 ? args : args.slice(0, end);
  return command.options
    .filter((o) => (o.required || o.optional) && !o.variadic && !collects(o) && o.long)
    .filter((o) => tokens.filter((t) => t === o.long || t.startsWith(`${o.long}=`) || (o.short !== undefined && t.startsWith(o.short) && !t.startsWith('--'))).length > 1)
    .map((o) => o.long!);
}

/**
 * Options that took another option's name as their value: commander gives an option that needs a value the next
 * word whatever it is, so `gate --version --json` (a shell variable that came out empty: `--version $VER`) read the
 * version "--json" and printed text, not JSON (a trial: exit 2, NEED_SHADOW, for a CI gate). A value that is a name of
 * one of the command's options (or `-h`, `--help`) is taken for that mistake; `-1` and other values starting with a
 * dash are left to the option's parser.
 * @param command The command run (its options).
 * @param args    The words after `node edgelat`, as typed.
 * @returns `--option "value"` texts, in the order typed.
 */
export function optionsTakenAsValue(command: Pick<Command, 'options'>, args: readonly string[]): string[] {
  const end = args.indexOf('--');
  const tokens = end < 0 ? args : args.slice(0, end);
  const names = new Set(['-h', '--help', ...command.options.flatMap((o) => [o.long, o.short].filter((n): n is string => n !== undefined))]);
  const isName = (t: string) => names.has(t) || (t.startsWith('--') && names.has(t.slice(0, t.indexOf('=') < 0 ? t.length : t.indexOf('='))));
  const out: string[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    const option = command.options.find((o) => o.required && (tokens[i] === o.long || (o.short !== undefined && tokens[i] === o.short)));
    if (option && isName(tokens[i + 1]!)) {
      out.push(`${tokens[i]} ${JSON.stringify(tokens[i + 1])}`);
      i++;
    }
  }
  return out;
}

/**
 * Whether an option's parser collects its values: fed `a` then `b` (with the first result as the previous value), or
 * `a=1` then `b=2` (a parser of name=value pairs, `sql --param`, `--dim`), it returns both: in a list, or as a record's two keys.
 */
function collects(option: Command['options'][number]): boolean {
  const parse = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
  if (!parse) return false;
  return [['a', 'b'], ['a=1', 'b=2']].some(([first, second]) => {
    try {
      const both = parse(second!, parse(first!, undefined));
      // A list of the values, or a record of the names (`--dim seq=1 --dim h=2`).
      return Array.isArray(both) ? both.length === 2 : typeof both === 'object' && both !== null && Object.keys(both).length === 2;
    } catch {
      return false; // a validating parser (an integer, a host) refuses the probe: one value
    }
  });
}

/**
 * End the process on its first Ctrl-C, SIGTERM or SIGHUP by saying why in one line on stderr, then re-raising that signal
 * (the shell's exit status 130 / 143 / 129). Both handlers go at the first signal, so a second one before the line is
 * written ends the process by default instead of writing it twice (a review). Re-raising, not process.exit: that
 * waited at times on the embedded engine's teardown (a probe: 1 of 6 SIGTERMs of the demo still alive 30 s later).
 * @param say    The line for the signal received (without the newline); called once.
 * @param until  Work the signal must not cut (the demo's exchange of its tables): when it returns a promise, the line
 *               and the signal wait for it to settle (a second signal meanwhile is taken and changes nothing: the
 *               work is short).
 * @returns      A function removing both handlers, for when the work ends without a signal.
 */
export function endBySignalAfter(say: (signal: NodeJS.Signals) => string, until?: () => Promise<unknown> | null): () => void {
  let waiting = false;
  const remove = () => {
    for (const s of ENDING_SIGNALS) process.off(s, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    const pending = until?.() ?? null;
    const end = (): void => {
      remove();
      process.stderr.write(`${say(signal)}\n`, () => process.kill(process.pid, signal));
    };
    if (pending === null) end();
    else if (!waiting) {
      // A second signal while the work ends is taken by this handler and changes nothing (a re-test: two SIGTERMs a few
      // ms apart ended the demo by default, inside its exchange, with no line and its run recorded as not finished).
      waiting = true;
      void pending.then(end, end);
    }
  }
  for (const s of ENDING_SIGNALS) process.on(s, onSignal);
  return remove;
}

/**
 * The signals {@link endBySignalAfter} ends a command on: Ctrl-C, SIGTERM, and SIGHUP (a closed terminal or ssh
 * session; a trial: a demo hung up in its exchange ended at once, 129, its run recorded as not finished).
 */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Refuse a simulated fleet too large to hold in memory: `--servers` × `--duration` above `max` server-minutes (the
 * simulator and the demo keep every record of a run in memory; a trial's flag maximums ran out of JS heap).
 * @param holder  What holds the records, for the message (`the embedded demo`, `simulate`).
 * @throws {UsageError} naming both flags, their product, the limit and sizes that fit.
 */
export function checkFleetSize(servers: number, minutes: number, max: number, holder: string): void {
  const serverMinutes = servers * minutes;
  if (serverMinutes <= max) return;
  const [durationFit, serversFit] = [Math.floor(max / servers), Math.floor(max / minutes)];
  throw new UsageError(`--servers ${servers} × --duration ${minutes} is ${serverMinutes.toLocaleString('en-US')} server-minutes, more than ${holder} holds in memory `
    + `(${max.toLocaleString('en-US')}): give --duration ${durationFit} or less${serversFit >= 1 ? `, or --servers ${serversFit} or less` : ''}`);
}

/** The simulator's fields as `demo` and `simulate` take them on the command line. */
const SIM_FLAGS: Readonly<Record<string, string>> = {
  'shadows.servers': '--shadows', 'shadows.maxLagMs': '--shadow-max-lag-ms', 'shadows.reorderShare': '--shadow-reorder', 'shadows.reorderMs': '--shadow-reorder-ms',
  'shadows.sampleShare': '--shadow-sample', durationMs: '--duration, in ms,', servers: '--servers', maxJitterMs: '--jitter', seed: '--seed',
};

/** The shadow hand-over flags of `demo` and `simulate` as parsed (undefined: the simulator's default, SHADOW_DEFAULTS). */
export interface ShadowHandOverFlags {
  /** Shadow results' hand-over: max lag, ms (0..60000). @default 3000 */
  shadowMaxLagMs?: number;
  /** Share of shadow results held back out of order, 0..1. @default 0.1 */
  shadowReorder?: number;
  /** Longest hold-back of a reordered result, ms (0..60000). @default 1500 */
  shadowReorderMs?: number;
  /** Share of a production server's requests mirrored, (0, 1]. @default 1 */
  shadowSample?: number;
}

/**
 * The options of how shadow results reach edge.shadow.v1 (`demo`, `simulate`): lag, reordering, sampling. Defaults
 * are the simulator's (SHADOW_DEFAULTS: 3000 ms, 0.1, 1500 ms, 1), named in the help but left unset so a command can
 * tell a typed flag from the default.
 */
export function shadowHandOverOptions(): Option[] {
  return [
    new Option('--shadow-max-lag-ms <ms>', 'hand-over lag of each shadow result after its request: uniform in 0..ms, at most 60,000 (default: 3000)').argParser(intFlag('--shadow-max-lag-ms', 0, 60_000)),
    new Option('--shadow-reorder <fraction>', 'share of shadow results held back, so they arrive out of order, 0..1 (default: 0.1)').argParser(numberFlag('--shadow-reorder', 0, true, 1)),
    new Option('--shadow-reorder-ms <ms>', 'longest hold-back of a reordered shadow result, ms, at most 60,000 (default: 1500)').argParser(intFlag('--shadow-reorder-ms', 0, 60_000)),
    new Option('--shadow-sample <fraction>', 'share of a production server\'s requests its shadow receives, above 0 and at most 1 (default: 1)').argParser(numberFlag('--shadow-sample', 0, false, 1)),
  ];
}

/**
 * The simulator's shadow settings from {@link shadowHandOverOptions}' flags (unset ones left to its defaults).
 * @throws {UsageError} when a flag is given without shadow deployments (`servers` 0), naming it, or a hold-back
 *         (`--shadow-reorder-ms`) with no result held back (`--shadow-reorder 0`).
 */
export function shadowSimConfig(servers: number, flags: ShadowHandOverFlags): { servers: number; maxLagMs?: number; reorderShare?: number; reorderMs?: number; sampleShare?: number } {
  const given = ([['--shadow-max-lag-ms', flags.shadowMaxLagMs], ['--shadow-reorder', flags.shadowReorder], ['--shadow-reorder-ms', flags.shadowReorderMs], ['--shadow-sample', flags.shadowSample]] as const)
    .filter(([, v]) => v !== undefined).map(([f]) => f);
  if (servers === 0 && given.length > 0) throw new UsageError(`${given.join(', ')}: no shadow deployment to apply ${given.length > 1 ? 'them' : 'it'} to: give --shadows N too`);
  // A hold-back for no result held back is a setting without effect (a re-test: taken without a word).
  if (flags.shadowReorder === 0 && flags.shadowReorderMs !== undefined) throw new UsageError(`--shadow-reorder-ms ${flags.shadowReorderMs} holds back nothing with --shadow-reorder 0: give a share above 0, or leave --shadow-reorder-ms out`);
  return {
    servers,
    ...(flags.shadowMaxLagMs !== undefined ? { maxLagMs: flags.shadowMaxLagMs } : {}),
    ...(flags.shadowReorder !== undefined ? { reorderShare: flags.shadowReorder } : {}),
    ...(flags.shadowReorderMs !== undefined ? { reorderMs: flags.shadowReorderMs } : {}),
    ...(flags.shadowSample !== undefined ? { sampleShare: flags.shadowSample } : {}),
  };
}

/**
 * The simulator's configuration from `demo`'s or `simulate`'s flags (`normalizeSimConfig`), its errors naming the flag
 * the user typed instead of the simulator's field (`--servers must be …`, not `servers must be …`).
 * @throws {UsageError} when a value is out of the simulator's range.
 */
export function simConfigFromFlags(sim: Parameters<typeof normalizeSimConfig>[0]): SimConfig {
  try {
    return normalizeSimConfig(sim);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(error.message.replace(/^invalid sim config: (\S+)/, (whole, field: string) => (SIM_FLAGS[field] ?? whole)));
  }
}

/**
 * The arrival trace files of `demo --trace` / `simulate --trace`, read now (`loadArrivalTrace`, cached for the run), so a
 * file that cannot be read ends the command before anything is dropped or produced.
 * @returns The files as given; undefined when none were given (the repository's cut).
 * @throws {UsageError} naming --trace and the file: missing, without the trace's columns, a malformed row.
 */
export async function traceFilesFlag(files: readonly string[] | undefined): Promise<string[] | undefined> {
  if (files === undefined || files.length === 0) return undefined;
  const { defaultDataDir, loadArrivalTrace } = await import('../simulator/data.ts');
  try {
    loadArrivalTrace(defaultDataDir(), files);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--trace: ${error.message}`);
    throw error;
  }
  return [...files];
}

/** Options {@link required} marked. */
const REQUIRED_OPTIONS = new WeakSet<Option>();

/**
 * Mark an option as required, checked by {@link missingRequired} in the program's preAction hook rather than by
 * commander's `makeOptionMandatory`, whose check runs before the unknown-option one: a trial's misspelt
 * `whatif --srever edge-04` was told "required option '--server <id>' not specified", not that `--srever` is unknown.
 * Its description gets " (required)" unless it says so already.
 * @returns The option, for chaining into `addOption`.
 */
export function required(option: Option): Option {
  REQUIRED_OPTIONS.add(option);
  // Said in the help, as commander says it of its own mandatory options' errors only (a --help audit).
  if (!/\brequired\b/.test(option.description)) option.description = `${option.description} (required)`;
  return option;
}

/**
 * `option.choices(values)`, but a value in another case, or with blanks around it, is taken as the choice it spells (`--format CSV`: ClickHouse
 * spells its formats so; a trial was refused). The help lists the choices as commander's does.
 * @param values  The choices, as the option's value gives them (`csvWithNames`), no two alike but for case.
 * @throws {InvalidArgumentError} (when parsed) naming the choices, as commander's own does.
 */
export function choicesAnyCase(option: Option, values: readonly string[]): Option {
  return option.choices(values).argParser((value: string) => {
    // A re-test: lower-casing the value alone left csvWithNames, a choice, refused in every spelling.
    const choice = values.find((v) => v.toLowerCase() === value.trim().toLowerCase());
    if (choice === undefined) throw new InvalidArgumentError(`Allowed choices are ${values.join(', ')}.`);
    return choice;
  });
}

/** The flags of the first {@link required} option of `command` left unset (e.g. `--server <id>`), or null. */
export function missingRequired(command: Command): string | null {
  const missing = command.options.find((o) => REQUIRED_OPTIONS.has(o) && command.getOptionValue(o.attributeName()) === undefined);
  return missing ? missing.flags : null;
}

/**
 * Parser of a repeatable flag of comma-separated ids (`--servers`, `--chips`): blanks around each comma ignored, merged
 * with the flag's earlier values (repeats once, first order kept). A blank value is the empty list (refused by the
 * command, naming it); an empty entry in a list (`a,,b`, a trailing comma) is refused, not skipped.
 * @param flag  The flag's name, for the error (`--servers`).
 * @param noun  What an id names, for the error (`server`).
 * @returns `(value, previous?) => ids` for commander's `argParser`.
 * @throws {InvalidArgumentError} (from the parser) on an empty entry in a non-blank value, or more than
 *   {@link MAX_IDS_PER_LIST} distinct ids (the API's limit).
 */
export function idListFlag(flag: string, noun: string): (value: string, previous?: string[]) => string[] {
  return (value, previous) => {
    const ids = value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
    if (ids.includes('')) throw new InvalidArgumentError(`${flag} has an empty ${noun} id in ${JSON.stringify(value)}`);
    const all = [...new Set([...(previous ?? []), ...ids])];
    // The API's limit (a trial: 2,000 servers taken here, refused by POST /v1/gate).
    if (all.length > MAX_IDS_PER_LIST) throw new InvalidArgumentError(`${flag}: at most ${MAX_IDS_PER_LIST} ${noun} ids, got ${all.length}`);
    return all;
  };
}
