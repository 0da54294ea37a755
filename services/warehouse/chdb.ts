import { chmodSync, closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chdbCall } from './chdb-activity.ts';
import { Session } from 'chdb';
import { RetryStoppedError, WarehouseError, WarehouseLockedError, type HolderCommand } from '../../errors.ts';
import { makeDirs } from '../make-dirs.ts';
import { replaceFileSync } from '../temp-file.ts';
import { applyMigrations, assertIdentifier, MIGRATIONS_DIR } from './migrations.ts';
import { parseTypedRows, TYPED_ROWS_FORMAT, rowToJson } from './json.ts';
import { exceptionFirstLine, type InsertOptions, type QueryParam, type Warehouse } from './types.ts';

/** Options of the embedded warehouse. */
export interface ChdbWarehouseOptions {
  /** Folder of the chdb data (one engine per folder per process). */
  dataDir: string;
  /** Database of the edgelat tables. @default 'edgelat' */
  database?: string;
  /** Folder of the migration files. @default the repository's sql/migrations */
  migrationsDir?: string;
  /**
   * ClickHouse's `readonly` for every query, on a connection of its own: 1 reads only (no setting
   * changed either), 2 reads and changes settings; writes, DDL and table functions fail with code
   * 164 READONLY. @default 0 (the process's shared session, no restriction)
   */
  readonly?: 0 | 1 | 2;
}

/**
 * Settings of every chdb connection: plain tables for people, no row-number column in Pretty formats (ClickHouse 26 adds
 * one by default) and no colour (chdb coloured them where the process's stdout was a terminal: serve's SQL port sent
 * ESC sequences to HTTP clients, and `edgelat sql` prints a terminal's text with its control characters escaped), UTC for times without a zone whatever the process's TZ (the SQL port says X-ClickHouse-Timezone:
 * UTC), and an HTTP read (`url()`, `sql --write` or the SQL port's writer) tried 3 times with at most 1 s between tries:
 * ClickHouse's 10 tries backing off to 10 s took 131 s to fail on a refused port, which a trial's `url()` held the SQL
 * port's writer for (3 tries: 1.3 s).
 */
export const CHDB_CONNECTION_ARGS: readonly string[] = ['--output_format_pretty_row_numbers=0', '--output_format_pretty_color=0', '--session_timezone=UTC', '--http_max_tries=3', '--http_retry_max_backoff_ms=1000'];

/** One engine per data folder per process (a chdb rule): shared and reference-counted. */
const sessions = new Map<string, { session: Session; users: number }>();

/** edgelat's commands that take a subcommand. */
const COMMAND_GROUPS: ReadonlySet<string> = new Set(['alerts', 'benchmark', 'chips', 'import', 'model', 'pipeline', 'report']);

/**
 * What process `pid` runs, from /proc/<pid>/cmdline: `edgelat <command>` when it runs edgelat's CLI (bin/edgelat.js,
 * or npx's node_modules/.bin/edgelat), else its command line cut to 80 characters; null where /proc does not tell, or
 * for another Node.js process (a library user of edgelat, a test runner: "another edgelat process" as before).
 * A trial: a lock taken by `flock` was named "another edgelat process", and a demo's by its pid alone.
 */
export function holderCommand(pid: number): HolderCommand | null {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
  const cli = argv.findIndex((a) => /(^|\/)(bin\/edgelat\.js|\.bin\/edgelat|edgelat)$/.test(a));
  if (cli >= 0) {
    // The command, and the subcommand of a group (`model train`); not a flag's value (`demo --duration 2`).
    const [command, sub] = argv.slice(cli + 1);
    const words = command === undefined || command.startsWith('-') ? [] : COMMAND_GROUPS.has(command) && sub !== undefined && !sub.startsWith('-') ? [command, sub] : [command];
    return { edgelat: true, text: ['edgelat', ...words].join(' ') };
  }
  if (argv.length === 0 || /(^|\/)node\b/.test(argv[0]!)) return null; // also a retitled one: "node (vitest 1)"
  const text = argv.join(' ');
  return { edgelat: false, text: text.length > 80 ? `${text.slice(0, 79)}…` : text };
}

/** True when a process with this pid is alive and (where /proc tells) is a Node.js process: a reused pid is not a holder. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node|edgelat/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc here: trust the signal check
  }
}

/** The folder's identity on its file system, `dev:inode`: a copy of the folder (cp -a, a restored archive) has another. */
function folderIdentity(path: string): string {
  const s = statSync(path);
  return `${s.dev}:${s.ino}`;
}

/**
 * The process id a pid file names, `<pid> <dev:inode of the folder>`, or null when it is missing, unreadable, not a
 * positive integer, or written in another folder: a copy carries its source's pid file, whose holder holds the source,
 * not the copy (a trial: a copy made while `serve` ran could not be opened). A file of the pid alone (older edgelat)
 * is taken as this folder's.
 */
function pidIn(pidFile: string, identity: string): number | null {
  try {
    const [pidText, written] = readFileSync(pidFile, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    if (written !== undefined && written !== identity) return null;
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** File in a data folder naming the ClickHouse HTTP port of the `edgelat serve` that holds it (written by serve). */
export const SERVE_FILE = 'edgelat-serve.json';

/**
 * Write (or, with null, remove) a folder's {@link SERVE_FILE}: this process serves the folder's warehouse on ClickHouse's
 * HTTP interface at `url`, so a command locked out of the folder can name it (a trial: `model promote` beside a
 * running serve said only "another edgelat process holds" it; the port answers for the folder). Best effort.
 * @param path  The data folder (chdb's).
 * @param url   The interface's URL, e.g. `http://127.0.0.1:8123`, or null to remove the file (when this process wrote it).
 */
export function announceServing(path: string, url: string | null): void {
  try {
    // Removed only where this process wrote it (a serve that could not open the folder leaves its holder's).
    if (url === null) {
      if (servingUrl(path, process.pid) !== null) rmSync(join(path, SERVE_FILE), { force: true });
    } else replaceFileSync(join(path, SERVE_FILE), `${JSON.stringify({ pid: process.pid, clickhouse_url: url })}\n`);
  } catch {
    // a note for other processes' messages, nothing more
  }
}

/** The ClickHouse URL a folder's {@link SERVE_FILE} gives for process `pid`, or null (none, unreadable, or another process's). */
function servingUrl(path: string, pid: number | null): string | null {
  if (pid === null) return null;
  try {
    const v = JSON.parse(readFileSync(join(path, SERVE_FILE), 'utf8')) as { pid?: unknown; clickhouse_url?: unknown };
    return v.pid === pid && typeof v.clickhouse_url === 'string' && /^https?:\/\/\S+$/.test(v.clickhouse_url) ? v.clickhouse_url : null;
  } catch {
    return null;
  }
}

/**
 * Claim `<dir>/edgelat.pid` before the engine opens the folder, so that a
 * second process gets one clear line instead of the engine's lock error.
 * A pid file of a dead process, or of another folder (this one is a copy), is stale and taken over.
 * @returns What the pid file held before (null: none), to put back if the engine then refuses the folder.
 * @throws {WarehouseLockedError} when a live process holds the folder.
 */
function claim(path: string): string | null {
  const pidFile = join(path, 'edgelat.pid');
  const identity = folderIdentity(path);
  const holder = pidIn(pidFile, identity);
  if (holder !== null && holder !== process.pid && alive(holder)) throw new WarehouseLockedError(path, undefined, holder, servingUrl(path, holder), 0, holderCommand(holder));
  // The engine's lock held by a process the pid file does not name (another program, a `cp -al` copy's source): refused
  // before the pid file is written and the engine tried (a re-test: waiters named each other from the pid file they
  // wrote for a moment, and chdb printed its "Cannot lock file" on stderr at every attempt of the wait).
  const engineHeld = engineLockHolder(path, undefined);
  if (engineHeld !== null) throw engineHeld;
  let before: string | null = null;
  try {
    before = readFileSync(pidFile, 'utf8');
  } catch {
    // none (or unreadable: replaced)
  }
  // Replaced, not rewritten (temp-file.ts): a pid file hard-linked with another folder's (`cp -al`) is then this
  // folder's alone, not rewritten in both (a re-test: a failed open of a hard-linked copy put its pid in the source's file).
  replaceFileSync(pidFile, `${process.pid} ${identity}\n`);
  return before;
}

/**
 * Undo {@link claim} after the engine refused the folder: the pid file as it was (a re-test: a process that took a
 * hand-edited or hard-linked pid file for stale and then failed left its own dead pid there, and later attempts got
 * the engine's three-line error instead of the holder's name).
 */
function unclaim(path: string, before: string | null): void {
  const pidFile = join(path, 'edgelat.pid');
  try {
    if (before === null) rmSync(pidFile, { force: true });
    else replaceFileSync(pidFile, before);
  } catch {
    // best effort: the engine's own lock still guards the folder
  }
}

/**
 * The process holding a lock on a file, from Linux's /proc/locks (`1: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<inode> 0 EOF`,
 * device numbers in hex): ClickHouse flocks `<folder>/status` while it has the folder open.
 * @returns `{ pid }` (null pid: locked, holder not told), or null when no lock is listed or /proc cannot tell.
 */
function lockHolder(file: string): { pid: number | null } | null {
  try {
    const { dev, ino } = statSync(file);
    const major = ((dev >> 8) & 0xfff) | Math.floor(dev / 2 ** 32) & ~0xfff;
    const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const m = /^\d+:\s+(?:FLOCK|POSIX|OFDLCK)\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
      if (m && Number(m[4]) === ino && parseInt(m[2]!, 16) === major && parseInt(m[3]!, 16) === minor) {
        const pid = Number(m[1]);
        return { pid: pid > 0 ? pid : null };
      }
    }
  } catch {
    // no /proc (not Linux), or no status file yet
  }
  return null;
}

/**
 * Why the engine refused the folder when no edgelat pid file named a live holder (a re-test: a hand-edited pid file,
 * a `cp -al` copy): the process holding its `status` lock file, and whether that file is hard-linked with another
 * folder's (a `cp -al` copy shares the source's lock). Null when /proc/locks lists no lock on it.
 */
function engineLockHolder(path: string, cause: unknown): WarehouseError | null {
  const status = join(path, 'status');
  const holder = lockHolder(status);
  if (holder === null || holder.pid === process.pid) return null;
  let links = 1;
  try {
    links = statSync(status).nlink;
  } catch {
    // gone since
  }
  if (links > 1) {
    return new WarehouseError(`cannot open the embedded warehouse at ${JSON.stringify(path)}: its ClickHouse lock file "status" is hard-linked with another folder's (a \`cp -al\` copy?), which ${holder.pid === null ? 'a process' : `process ${holder.pid}`} holds open: copy the folder with \`cp -a\` (EDGELAT_DATA_DIR)`, 76, { cause });
  }
  return new WarehouseLockedError(path, cause, holder.pid, servingUrl(path, holder.pid), 0, holder.pid === null ? null : holderCommand(holder.pid));
}

/**
 * Start the embedded engine in UTC whatever the process's TZ. ClickHouse reads TZ when it starts and refuses a
 * POSIX-style value that Node and date(1) take (`JST-9`, `UTC+5`, `<+0530>-5:30`, `CET-1CEST,M3.5.0,M10.5.0/3`: a
 * trial's every command failed with "Cannot load time zone JST-9"); edgelat's times are UTC throughout
 * ({@link CHDB_CONNECTION_ARGS}), and nothing in it reads the local zone, so the process runs in UTC from here on.
 */
function engineTimeZone(): void {
  process.env.TZ = 'UTC';
}

/**
 * Why the lock file `<path>/edgelat.pid` could not be written, by the system's error code: a file in the folder's
 * place, a full disk, a folder in the lock file's place, else a folder that is not writable (a trial: a full disk and
 * a folder named edgelat.pid had been told to make the folder writable).
 * @param code  The system's code (`ENOSPC`, …), or the error's message when it has none.
 * @param path  The data folder (chdb's).
 */
export function lockFileProblem(code: string, path: string): string {
  if (code === 'ENOTDIR') return 'it is a file, not a folder';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return `cannot write its lock file edgelat.pid (${code}): the disk holding the folder is full${code === 'EDQUOT' ? ' for this user (quota)' : ''}; free some space there (ClickHouse writes to its folder when it opens it, to read it too)`;
  }
  if (code === 'EISDIR') return `its lock file edgelat.pid is a folder (EISDIR): remove ${JSON.stringify(join(path, 'edgelat.pid'))}`;
  return `cannot write its lock file edgelat.pid (${code}); the folder must be writable (a read-only copy: copy it to a writable folder, as ClickHouse writes to its folder when it opens it)`;
}

/**
 * Open (or share) the process's chdb session on a data folder; pair every call with {@link releaseSession}.
 * The ClickHouse-HTTP endpoint and the warehouse of `edgelat serve` share one session this way.
 * @throws {WarehouseLockedError} when another process holds the folder.
 * @throws {WarehouseError} when the folder cannot be created (naming it and the system's code) or the engine fails to open it.
 */
export function openSession(dataDir: string): Session {
  const path = resolve(dataDir);
  const open = sessions.get(path);
  if (open) {
    open.users++;
    return open.session;
  }
  // The data folder and its chdb folder, where this creates them, are the user's alone (0700): the telemetry, the
  // models and the lock are no other local user's to read or change (a security trial found them 0755 / 0644).
  const created = [dirname(path), path].filter((p) => !existsSync(p));
  try {
    makeDirs(path);
    for (const p of created) chmodSync(p, 0o700);
  } catch (error) {
    throw new WarehouseError(`cannot open the embedded warehouse at ${JSON.stringify(path)}: ${(error as Error).message}`, null, { cause: error });
  }
  let before: string | null;
  try {
    before = claim(path);
  } catch (error) {
    if (error instanceof WarehouseError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // makeDirs leaves an existing path alone: a file there fails only at the lock file (a trial: <dir>/chdb a file).
    throw new WarehouseError(`cannot open the embedded warehouse at ${JSON.stringify(path)}: ${lockFileProblem(String(code), path)} (EDGELAT_DATA_DIR)`, null, { cause: error });
  }
  try {
    engineTimeZone();
    detachStdin();
    const session = new Session(path, { connectionArgs: [...CHDB_CONNECTION_ARGS] });
    sessions.set(path, { session, users: 1 });
    return session;
  } catch (error) {
    unclaim(path, before);
    const held = engineLockHolder(path, error);
    if (held) throw held;
    if (/Cannot lock file|already running/i.test(String((error as Error).message))) throw new WarehouseLockedError(path, error); // its holder is no edgelat process with a pid file (claim wrote ours there)
    throw new WarehouseError(`cannot open the embedded warehouse at ${JSON.stringify(path)}: ${(error as Error).message}`, null, { cause: error });
  }
}

let stdinDetached = false;

/**
 * Put /dev/null in place of the process's standard input, once, before the first chdb session: chdb, ClickHouse's
 * local mode, takes bytes on fd 0 as an INSERT's data where a statement carries none. A trial: with anything piped in
 * (`echo x | edgelat demo`, a `while read … done < file` loop), every command that writes failed ("Processing async
 * inserts with both inlined and external data (from stdin or infile) is not supported") and ate the rest of the
 * loop's file; a security re-test: a GET `INSERT … VALUES (1)` on serve's port read all of serve's stdin. No edgelat
 * command reads its standard input. Best effort: where it cannot be replaced, it stays.
 */
export function detachStdin(): void {
  if (stdinDetached) return;
  stdinDetached = true;
  try {
    closeSync(0);
    // The lowest free descriptor: 0 again.
    const fd = openSync('/dev/null', 'r');
    if (fd !== 0) closeSync(fd);
  } catch {
    // no /dev/null (not this platform's case): stdin as it was
  }
}

/** Interval between attempts of {@link openWhenFree}, ms. */
const LOCK_POLL_MS = 250;

/**
 * Open the embedded warehouse of a folder with `open` (a constructor or {@link openSession} call), and while another
 * edgelat process holds the folder, try again every 250 ms for up to `waitS` seconds: two commands started together
 * (a CI job gating several models on one runner, a `sql` beside a running demo) take turns instead of the second
 * failing (a trial: two `gate` runs at once, one exited 70). `edgelat serve` as the holder is not waited for: it holds
 * the folder until stopped, and its port answers for it (the refusal says so at once).
 * @param open    Opens the warehouse; throws {@link WarehouseLockedError} while the folder is held.
 * @param waitS   Longest wait, s (integer ≥ 0; 0: the first refusal is thrown).
 * @param onWait  Called once, with the first refusal, when the wait begins (to say so on stderr).
 * @param signal  Ends the wait when aborted. @default none
 * @returns What `open` returned once the folder was free.
 * @throws {WarehouseLockedError} the last refusal, with the seconds waited ({@link WarehouseLockedError.waitedS}),
 *   when the folder is still held after `waitS`; any other error of `open` at once.
 * @throws {RetryStoppedError} when `signal` aborts the wait (its cause the last refusal).
 */
export async function openWhenFree<T>(open: () => T, waitS: number, onWait: (held: WarehouseLockedError) => void = () => undefined, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + waitS * 1000;
  for (let first = true; ; first = false) {
    try {
      return open();
    } catch (error) {
      if (!(error instanceof WarehouseLockedError) || error.serving !== null || waitS <= 0) throw error;
      if (Date.now() >= deadline) throw new WarehouseLockedError(error.dataDir, error.cause, error.pid, error.serving, waitS, error.command);
      // Stopped while waiting (a trial: Ctrl-C held through pipeline run's whole wait, then exit 75).
      if (signal?.aborted) throw new RetryStoppedError(`stopped while waiting for the embedded warehouse at ${JSON.stringify(error.dataDir)}, which ${error.pid === null ? 'another process' : `pid ${error.pid}`} holds`, error);
      if (first) onWait(error);
      await new Promise<void>((r) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          r();
        };
        const timer = setTimeout(done, Math.min(LOCK_POLL_MS, Math.max(1, deadline - Date.now())));
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/**
 * Open a chdb connection of its own on a data folder, with ClickHouse settings of its own (e.g.
 * `readonly`, `max_execution_time`): queries on one connection run one at a time, and a setting
 * given here holds for every query of the connection (with `readonly` = 1, a query cannot change it).
 * Takes a use of the folder's shared session (its lock and pid file) for as long as it is open.
 * @param settings  ClickHouse settings by name, as `--name=value` connection arguments.
 * @returns The connection and its release (close the connection, then release the folder).
 * @throws {WarehouseLockedError} when another process holds the folder.
 * @throws {WarehouseError} when the folder or the connection cannot be opened.
 */
export function openConnection(dataDir: string, settings: Readonly<Record<string, string | number>>): { session: Session; release(): void } {
  const path = resolve(dataDir);
  openSession(path);
  try {
    const session = new Session(path, { connectionArgs: [...CHDB_CONNECTION_ARGS, ...Object.entries(settings).map(([k, v]) => `--${k}=${v}`)] });
    return {
      session,
      release: () => {
        session.close();
        releaseSession(path);
      },
    };
  } catch (error) {
    releaseSession(path);
    throw new WarehouseError(`cannot open a connection to the embedded warehouse at ${JSON.stringify(path)}: ${(error as Error).message}`, null, { cause: error });
  }
}

/** Release one use of the folder's session; the last release closes it and removes the pid file. */
export function releaseSession(dataDir: string): void {
  const path = resolve(dataDir);
  const open = sessions.get(path);
  if (!open) return;
  if (--open.users === 0) {
    open.session.close();
    sessions.delete(path);
    rmSync(join(path, 'edgelat.pid'), { force: true });
  }
}

/**
 * Output formats whose blocks, each formatted alone, concatenate into the whole answer: rows with no header, footer,
 * separator between rows of different blocks, or file structure (lower-case names and aliases). Every other format
 * (JSON, JSONCompact, the *WithNames ones, XML, Values, Vertical, Pretty, Markdown, Parquet, Arrow, ORC, Avro, …) is
 * made whole: streamed by block it came back as one document per block (a trial: FORMAT JSON of 71,582 rows was 12
 * JSON documents, CSVWithNames repeated its header, and Parquet of 70,000 rows read back 4,591).
 */
const BLOCK_FORMATS: ReadonlySet<string> = new Set(['tabseparated', 'tsv', 'tabseparatedraw', 'tsvraw', 'raw', 'csv', 'jsoneachrow', 'jsonlines', 'ndjson',
  'jsoncompacteachrow', 'jsonstringseachrow', 'jsoncompactstringseachrow', 'rowbinary', 'lineasstring', 'native', 'null']);

/** Formats of one line a row, values escaped (no raw newline in one), with the header lines each writes before them (lower-case). */
const LINE_FORMATS: ReadonlyMap<string, number> = new Map([
  ...['tabseparated', 'tsv', 'jsoneachrow', 'jsonlines', 'ndjson', 'jsoncompacteachrow', 'jsonstringseachrow', 'jsoncompactstringseachrow'].map((f) => [f, 0] as const),
  ...['tabseparatedwithnames', 'tsvwithnames', 'jsoncompacteachrowwithnames', 'jsoncompactstringseachrowwithnames'].map((f) => [f, 1] as const),
  ...['tabseparatedwithnamesandtypes', 'tsvwithnamesandtypes', 'jsoncompacteachrowwithnamesandtypes', 'jsoncompactstringseachrowwithnamesandtypes'].map((f) => [f, 2] as const),
]);

/**
 * Rows of a whole answer in `format`, where its text tells them exactly: the lines of a format of one line a row, less
 * its header lines ({@link LINE_FORMATS}); the `"rows"` count the JSON formats write after the data (JSON, JSONCompact,
 * JSONStrings, JSONCompactStrings). Null for any other format (CSV's quoted values may hold newlines; Pretty, Parquet, …).
 * @param format  Output format (as the statement ran it), case-insensitive.
 * @param body    The whole answer.
 */
export function answerRows(format: string, body: Uint8Array): number | null {
  const f = format.toLowerCase();
  const header = LINE_FORMATS.get(f);
  if (header !== undefined) {
    let lines = 0;
    for (let at = body.indexOf(0x0a); at !== -1; at = body.indexOf(0x0a, at + 1)) lines++;
    return Math.max(0, lines - header);
  }
  if (['json', 'jsoncompact', 'jsonstrings', 'jsoncompactstrings'].includes(f)) {
    // The count follows every row: the last `"rows": N` of the text (a value's own quotes are escaped in a string).
    const tail = Buffer.from(body.subarray(Math.max(0, body.length - 4096))).toString('utf8');
    const counts = [...tail.matchAll(/"rows":\s*(\d+)/g)];
    return counts.length > 0 ? Number(counts[counts.length - 1]![1]) : null;
  }
  return null;
}

/** Whether a read in `format` may be streamed block by block ({@link BLOCK_FORMATS}), case-insensitive. */
export function streamsByBlock(format: string): boolean {
  return BLOCK_FORMATS.has(format.toLowerCase());
}

/**
 * Parameters as chdb binds them: an integer-valued number beyond ±2^53 (a `--bucket-width 1e16`) as the bigint of
 * its exact value, which binds the same double (chdb refuses such a number: "Refusing to serialize unsafe integer").
 */
export function bindable(params: Readonly<Record<string, QueryParam>>): Record<string, QueryParam> {
  const exact = (v: string | number | bigint): string | number | bigint => (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) ? BigInt(v) : v);
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.map(exact) : typeof v === 'number' ? exact(v) : v]));
}

/**
 * Run one statement on a chdb session and hand its output over chunk by chunk, as the engine makes it
 * (chdb's streaming query, one block at a time): a read of any size holds about one block in memory. Only in a row
 * format ({@link streamsByBlock}, the default and any FORMAT the text names): any other is answered whole, in one chunk.
 * One chdb call is in flight until the stream ends (an exit meanwhile segfaults libchdb: chdb-activity.ts).
 * chdb streams only statements that return rows ("Streaming query is not supported" for TRUNCATE, INSERT,
 * CREATE, …): those run as one query, whose answer (if any) is small, handed over as one chunk.
 * @param params  `{name:Type}` values bound by the engine (never spliced into the text).
 * @param format  Output format (a `FORMAT` clause in `sql` wins).
 * @param onChunk Called with each chunk's bytes and its rows (null where the answer made whole does not tell them:
 *                {@link answerRows}), in order; awaited before the next block is fetched (backpressure). A throw stops the query.
 * @param signal  Aborts the query between blocks (chdb's ChdbAbortError).
 * @returns       chdb's rowsRead and bytesRead of the one-query path (those of the result, not of the tables read:
 *                 count() over 100,000 rows gives 1), else null.
 * @throws        chdb's error of the statement, or what `onChunk` throws.
 */
export async function streamStatement(session: Session, sql: string, given: Readonly<Record<string, QueryParam>>, format: string,
  onChunk: (chunk: Uint8Array, rows: number | null) => Promise<void> | void, signal?: AbortSignal): Promise<{ readRows: number; readBytes: number } | null> {
  const params = bindable(given);
  const bind = Object.keys(params).length > 0;
  let started = false;
  // chdb formats each block of a streamed query as a document of its own: only row formats concatenate into one.
  // Any FORMAT named in the text counts (a word in a string literal too: that costs memory, never a wrong answer).
  const byBlock = [format, ...[...sql.matchAll(/\bFORMAT\s+(\w+)/gi)].map((m) => m[1]!)].every(streamsByBlock);
  if (byBlock) {
    try {
      await chdbCall(async () => {
        const stream = bind ? session.queryStreamBind(sql, params, { format, signal }) : session.queryStream(sql, { format, signal });
        for await (const chunk of stream) {
          started = true;
          await onChunk(chunk.raw(), chunk.numRows);
        }
      });
      return null;
    } catch (error) {
      if (started || !/Streaming query is not supported/.test(String((error as Error)?.message ?? error))) throw error;
    }
  }
  // Not streamable by block, or not a statement that returns rows: one query, its answer whole.
  const result = await chdbCall(() => (bind ? session.queryBindAsync(sql, params, { format }) : session.queryAsync(sql, { format })));
  const bytes = result.bytes();
  // The rows where the answer's text tells them (X-ClickHouse-Summary's result_rows); null: not known.
  // Totals and extremes add lines (and JSON keys) of their own: not counted (a re-test: TSVWithNames WITH TOTALS said 4 of 2).
  const extra = /\bWITH\s+TOTALS\b|\bextremes\b/i.test(sql);
  if (bytes.length > 0) await onChunk(bytes, extra ? null : answerRows(format, bytes));
  return { readRows: result.rowsRead, readBytes: result.bytesRead };
}

/** Wrap a chdb failure; ClickHouse's `Code: N.` becomes `code`. Engine errors are not retriable in-process. */
function wrap(error: unknown, what: string): WarehouseError {
  const message = String((error as Error)?.message ?? error);
  const code = Number(/Code: (\d+)/.exec(message)?.[1] ?? NaN);
  return new WarehouseError(`${what} failed: ${exceptionFirstLine(message)}`, Number.isFinite(code) ? code : null, { cause: error });
}

/**
 * The embedded warehouse: ClickHouse in-process through chdb. Same SQL files
 * as the ClickHouse server backend; queries use server-side bound parameters.
 */
export class ChdbWarehouse implements Warehouse {
  readonly database: string;
  private readonly session: Session;
  private readonly dataDir: string;
  private readonly migrationsDir: string;
  private readonly release: () => void;
  private closed = false;
  /** This warehouse's chdb calls still running: `close` waits for them. */
  private readonly running = new Set<Promise<unknown>>();

  /** @throws {WarehouseLockedError} when another process holds `dataDir`. */
  constructor(options: ChdbWarehouseOptions) {
    this.database = assertIdentifier(options.database ?? 'edgelat');
    this.dataDir = options.dataDir;
    this.migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
    if (options.readonly) {
      const connection = openConnection(options.dataDir, { readonly: options.readonly });
      this.session = connection.session;
      this.release = connection.release;
    } else {
      this.session = openSession(options.dataDir);
      this.release = () => releaseSession(this.dataDir);
    }
  }

  async migrate(): Promise<string[]> {
    return applyMigrations(this, this.migrationsDir);
  }

  async insert(table: string, rows: readonly Record<string, unknown>[], options: InsertOptions = {}): Promise<void> {
    if (rows.length === 0) return;
    const body = Buffer.from(rows.map(rowToJson).join('\n'));
    // A block may span many monthly partitions (a backfill): no cap on parts per insert.
    const settings: Record<string, string | number> = { deduplicate_blocks_in_dependent_materialized_views: 1, max_partitions_per_insert_block: 0 };
    if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
    try {
      await this.track(chdbCall(() => this.session.insert({ table, values: body, format: 'JSONEachRow', settings })));
    } catch (error) {
      throw wrap(error, `insert into ${table}`);
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, QueryParam> = {}): Promise<T[]> {
    return parseTypedRows<T>(await this.queryText(sql, params, TYPED_ROWS_FORMAT));
  }

  async queryText(sql: string, params: Record<string, QueryParam> = {}, format = 'JSONEachRow'): Promise<string> {
    this.assertOpen();
    try {
      const result = await this.track(chdbCall(() => (Object.keys(params).length ? this.session.queryBindAsync(sql, bindable(params), { format }) : this.session.queryAsync(sql, { format }))));
      return result.text();
    } catch (error) {
      throw wrap(error, 'query');
    }
  }

  async streamText(sql: string, params: Record<string, QueryParam>, format: string, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
    this.assertOpen();
    try {
      await this.track(streamStatement(this.session, sql, params, format, (chunk) => onChunk(chunk)));
    } catch (error) {
      throw wrap(error, 'query');
    }
  }

  async exec(sql: string, params: Record<string, QueryParam> = {}): Promise<void> {
    await this.queryText(sql, params, 'TSV');
  }

  /**
   * Close once this warehouse's calls still running have settled: a session closed under a running query crashed the
   * process (a trial: one of recommend's queries failed, the command closed the warehouse while the others ran, exit 139).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.running]);
    this.release();
  }

  /** Count a chdb call of this warehouse as running until it settles. */
  private track<T>(call: Promise<T>): Promise<T> {
    this.running.add(call);
    const done = (): void => void this.running.delete(call);
    call.then(done, done);
    return call;
  }

  private assertOpen(): void {
    if (this.closed) throw new WarehouseError('the warehouse is closed', null);
  }
}
