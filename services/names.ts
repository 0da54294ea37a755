/**
 * Lists of known names for "unknown X" messages: a catalog can hold hundreds
 * of chips (every MLPerf system), too many for one line.
 */
import { StringDecoder } from 'node:string_decoder';
import { distance } from 'fastest-levenshtein';
import { MAX_ID_CHARS } from './predictor/types.ts';

/**
 * Order two strings by UTF-16 code units, the same on every machine (`localeCompare` follows the process's locale:
 * a trial's LANG=da_DK ranked zz-npu before aa-npu, "aa" being the Danish å at the end of the alphabet).
 * @returns  Negative, 0 or positive, for Array.prototype.sort.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The known names nearest to `given` as message text: at most `max`, closest
 * first, then how many were left out, e.g. `"jetson-agx-orin, jetson-xavier-nx, … 212 more"`.
 * Closest: names that start with `given`, then names that hold it, then the rest (a trial: `rk3588` listed `my-npu`
 * before `rk3588-mali-g610`, a shorter id at a smaller edit distance); within each, by Levenshtein edit distance to the
 * name or to its beginning ({@link prefixDistance}); case-insensitive; ties keep the given order.
 * @param known  Every known name. @param max  Names shown (≥ 1). @default 8
 */
export function nearestNames(given: string, known: readonly string[], max = 8): string {
  const g = given.toLowerCase();
  const tier = (n: string): number => (g === '' ? 2 : n.startsWith(g) ? 0 : n.includes(g) ? 1 : 2);
  const shown = known
    .map((name, i) => ({ name, i, t: tier(name.toLowerCase()), d: prefixDistance(g, name.toLowerCase()) }))
    .sort((a, b) => a.t - b.t || a.d - b.d || a.i - b.i)
    .slice(0, Math.max(1, max))
    .map((x) => listedName(x.name));
  const more = known.length - shown.length;
  const alike = lookAlike(given, known);
  return (more > 0 ? `${shown.join(', ')}, … ${more} more` : shown.join(', ')) + (alike === null ? '' : `; ${alike}`);
}

/**
 * Levenshtein distance of `given` to `name`; where `given` is at most half as long as `name` and a beginning of
 * `name` (within 2 characters of `given`'s length) is within a third of `given`'s length in edits (at least 1), that
 * smaller distance: a short id is read as a long one's start (a trial: `raspi4` listed hailo-8, apple-m1 … before
 * rpi4-cortex-a72, whose start `rpi4` is 2 edits away).
 */
function prefixDistance(given: string, name: string): number {
  const full = distance(given, name);
  if (given.length === 0 || 2 * given.length > name.length) return full;
  let d = full;
  for (let len = Math.max(1, given.length - 2); len <= given.length + 2; len++) d = Math.min(d, distance(given, name.slice(0, len)));
  return d <= Math.max(1, Math.round(given.length / 3)) ? d : full;
}

/**
 * The ids whose other names (the chip catalog's `names`: "BCM2711 4x Cortex-A72 (Raspberry Pi 4)", "Jetson AGX Orin
 * 64GB") hold `given`, compared in lower case without blanks or punctuation (`given` of at least 3 letters or digits
 * so): a chip asked for by its product name (a re-test: "Jetson AGX Orin 64GB" was unknown, other chips suggested
 * first). In the given order; [] when none does.
 * @param entries  Each id with its other names.
 */
export function idsNamed(given: string, entries: readonly { id: string; names: readonly string[] }[]): string[] {
  const fold = (t: string): string => t.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  const g = fold(given);
  if (g.length < 3) return [];
  return entries.filter((e) => e.names.some((n) => fold(n).includes(g))).map((e) => e.id);
}

/**
 * Items of a list as message text, JSON-quoted: at most `max`, then how many were left out (`"x1", "x2", … 49,998
 * more`). A trial's CSV header of 50,000 unknown columns made a 489 KB error line, cut at a pipe's 64 KiB before the
 * columns that were expected.
 * @param max  Items shown (≥ 1). @default 8
 */
export function someQuoted(items: readonly string[], max = 8): string {
  const shown = items.slice(0, Math.max(1, max)).map((x) => JSON.stringify(x));
  const more = items.length - shown.length;
  return more > 0 ? `${shown.join(', ')}, … ${more.toLocaleString('en-US')} more` : shown.join(', ');
}

/**
 * The known names like `given`, closest first: those that start with it or hold it, and those within an edit distance
 * of a third of its length, rounded (at least 1: `modle` is 2 from model), case-insensitive; [] when none is (a
 * mistyped word among a few commands is answered with the one meant, not a list of all of them: a trial's
 * `help gatee` listed every command as "nearest").
 * @param known  Every known name.
 */
export function similarNames(given: string, known: readonly string[]): string[] {
  const g = given.toLowerCase();
  const limit = Math.max(1, Math.round(g.length / 3));
  return known
    .map((name, i) => ({ name, i, n: name.toLowerCase() }))
    .map((x) => ({ ...x, d: distance(g, x.n), t: g !== '' && (x.n.startsWith(g) || x.n.includes(g)) ? 0 : 1 }))
    .filter((x) => x.t === 0 || x.d <= limit)
    .sort((a, b) => a.t - b.t || a.d - b.d || a.i - b.i)
    .map((x) => x.name);
}

/**
 * The known names `given` could be a typo of, closest first: within an edit distance of 2 and of a fifth of its length
 * (at least 1), case-insensitive, or the same but for case and the separators `-`, `_`, `.` and blanks (`nvidia-t-4`,
 * `nvidia-t4`); never `given` itself. Tighter than {@link similarNames}, which answers a mistyped word with the names
 * meant: a new board's id is often near a known one's (a trial: `jetson-orin-nx` was taken for a typo of
 * `jetson-xavier-nx`, a third of its length away).
 * @param known  Every known name.
 */
export function typoNames(given: string, known: readonly string[]): string[] {
  const bare = (name: string) => name.toLowerCase().replace(/[-_.\s]/g, '');
  const g = given.toLowerCase();
  const limit = Math.min(2, Math.max(1, Math.floor(g.length / 5)));
  return known
    .filter((name) => name !== given)
    .map((name, i) => ({ name, i, d: distance(g, name.toLowerCase()), same: bare(name) === bare(given) }))
    .filter((x) => x.same || x.d <= limit)
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.name);
}

/**
 * Where `given` differs from a known name only in characters outside ASCII, the first of them (a trial: `--model
 * bеrt-99`, its `е` Cyrillic, read "no request of "bеrt-99" (nearest models: bert-99, …)", two names that look alike):
 * e.g. `"bеrt-99" has U+0435 at character 2 where bert-99 has "e"`; null otherwise.
 */
export function lookAlike(given: string, known: readonly string[]): string | null {
  const g = [...given];
  if (g.every((c) => c.charCodeAt(0) < 0x80)) return null;
  for (const name of known) {
    const n = [...name];
    if (n.length !== g.length || name === given) continue;
    const differ = g.map((c, i) => i).filter((i) => g[i] !== n[i]);
    if (differ.every((i) => g[i]!.codePointAt(0)! >= 0x80)) {
      const i = differ[0]!;
      return `${quoteName(given)} has ${codePoint(g[i]!)} at character ${i + 1} where ${listedName(name)} has ${JSON.stringify(n[i])}`;
    }
  }
  return null;
}

/**
 * A word as a POSIX shell reads it back, for a command a message suggests: as it is when it holds only characters no
 * shell treats specially, else in single quotes (a `'` inside as `'\''`). A trial: a catalog chip "weird chip😀"
 * was suggested as `--chips weird chip😀`, which runs as two arguments.
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export { BIDI_OR_SEPARATOR, INVISIBLE_OR_REPLACEMENT } from '../schemas/id-text.ts';
import { BIDI_OR_SEPARATOR, INVISIBLE_OR_REPLACEMENT } from '../schemas/id-text.ts';

/**
 * Text for a terminal: control characters but the line break and the tab (C0, DEL, C1: an ESC or a U+009B begins a
 * terminal command), bidirectional marks and line separators written as `\uXXXX` escapes. A trial: commander's
 * "argument 'resnet50<ESC>[31m' is invalid" coloured the terminal red.
 */
export function terminalSafe(text: string): string {
  // What does not show too (a re-test: commander's "argument 'res<U+200B>net50' is invalid" read as resnet50).
  return showInvisible(text.replace(UNSAFE_ALL, (c) => (c === '\n' || c === '\t' ? c : printable(c))));
}

/**
 * {@link terminalSafe} over a stream of UTF-8 chunks (a character split between two chunks is joined first): what
 * `edgelat sql` prints on a terminal, where a value holding an ESC sequence (a free-text column: a dead letter's
 * error, a deployment's reason) would otherwise be a terminal command (a security trial's `char(27)` retitled and
 * coloured the terminal).
 * @returns `write(chunk)` and `end()`, each the text to print.
 */
export function terminalSafeStream(): { write(chunk: Uint8Array): string; end(): string } {
  const decoder = new StringDecoder('utf8');
  return { write: (chunk) => terminalSafe(decoder.write(chunk as Buffer)), end: () => terminalSafe(decoder.end()) };
}

/** `U+202E` for a character (its code point, 4 hex digits at least). */
export const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Characters that break or reorder a one-line message: C0 and C1 controls, DEL, and {@link BIDI_OR_SEPARATOR}. */
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f]|${BIDI_OR_SEPARATOR.source}`);
/** Text without any character of {@link UNSAFE} (whole string; empty allowed): a schema's pattern for an id it echoes. */
export const SAFE_TEXT = new RegExp(`^(?:(?!${UNSAFE.source}).)*$`, 'su');
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/** A character as JSON escapes it: `\u200b`, or past the Basic Multilingual Plane its surrogate pair (`\udb40\udc41`). */
const unicodeEscape = (c: string): string => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/**
 * Text from a file or the data made safe for a terminal and a one-line message: the characters of {@link UNSAFE}, and
 * those that do not show ({@link showInvisible}), as `\u` escapes. A trial's graph name held U+202E, a newline and NUL,
 * printed raw (the first reverses the rest of the line on screen); a re-test's chips import quoted "npu<U+200B>" raw.
 */
export function printable(text: string): string {
  return showInvisible(text.replace(UNSAFE_ALL, unicodeEscape));
}

/**
 * A name as a list in a message shows it: as it is, or quoted ({@link quoteName}) when it holds a character of
 * {@link UNSAFE}, a comma or a quote (a re-test: an id with a newline cut the list of nearest ids, which then read as
 * the id typed).
 */
export function listedName(name: string): string {
  return /[",]/.test(name) || UNSAFE.test(name) ? quoteName(name) : name;
}

/**
 * A name quoted for a message: JSON, with what JSON leaves raw (DEL, C1, bidirectional marks, line separators) and the
 * characters that do not show escaped too ({@link printable}; a re-test: an unknown key "mod\u200bel" read as model;
 * a trial: "resnet<U+200B>50" read as resnet50).
 */
export function quoteName(name: string): string {
  return printable(JSON.stringify(name));
}

/**
 * The one rule for ids (a gate request's model, version, chip and servers, predictor/gate-evidence.ts `GateRequest`, on
 * the command line and over HTTP; the SingleStream import's): as written, not empty and no surrounding blanks (a trial: version "v1 " was a new version with
 * no measurement, NEED_SHADOW, where "v1" was ALLOW), and no control characters (U+0000–U+001F,
 * U+007F–U+009F: a trial's version with an ANSI escape coloured the report in a CI log), no bidirectional, line-separator
 * or invisible characters, no lone surrogate, and in Unicode NFC (a decomposed é prints as the composed one).
 * @returns The message naming `field` and the value, or null for a good id.
 */
export function idProblem(field: string, value: string): string | null {
  if (value === '') return `${field}: expected a non-empty id, got ""`;
  // As the API's ids (a trial: a 100,000-character --model was queried and echoed whole on the CLI).
  if (value.length > MAX_ID_CHARS) return `${field}: expected an id of at most ${MAX_ID_CHARS} characters, got ${value.length}`;
  if (value.trim() !== value) return `${field}: expected an id without leading or trailing blanks, got ${JSON.stringify(value)}`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return `${field}: expected an id without control characters, got ${JSON.stringify(value)}`;
  // Bidirectional marks, overrides and isolates, and line separators, reorder or break the reason they are echoed in
  // (a trial: a version "\u202ev1" over HTTP).
  const mark = BIDI_OR_SEPARATOR.exec(value);
  if (mark) return `${field}: expected an id without bidirectional or line-separator marks, got ${codePoint(mark[0])} in ${quoteName(value)}`;
  // A UTF-16 surrogate without its pair is no character (JSON's "\ud800" over HTTP; a trial: looked up as a server).
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(value);
  if (lone) return `${field}: expected an id of whole characters, got a lone UTF-16 surrogate ${codePoint(lone[0])} in ${JSON.stringify(value)}`;
  const hidden = INVISIBLE_OR_REPLACEMENT.exec(value);
  if (hidden) return `${field}: expected an id without characters that do not show, got ${codePoint(hidden[0])} in ${quoteName(value)}${hidden[0] === '\ufffd' ? ' (a byte that is not UTF-8?)' : ''}`;
  // One text in two spellings (é, or e and a combining accent) prints alike: ids are in NFC, as ingestion takes them.
  if (value.normalize('NFC') === value) return null;
  const combining = /\p{M}/u.exec(value);
  return `${field}: expected an id in Unicode NFC (composed) form, got ${quoteName(value)}${combining ? ` with the combining mark ${codePoint(combining[0])}` : ''}: its NFC form prints alike and is another id`;
}

const INVISIBLE_ALL = new RegExp(INVISIBLE_OR_REPLACEMENT.source, 'gu');

/**
 * Text with the characters that do not show (zero-width, variation selectors, tags, fillers; not U+FFFD, which shows)
 * as `\uXXXX` escapes, for a quote in a message (a trial: the API's "got "res​net50"" read as resnet50).
 */
function showInvisible(text: string): string {
  return text.replace(INVISIBLE_ALL, (c) => (c === '\ufffd' ? c : unicodeEscape(c)));
}


/** Longest value commander's "argument '…' is invalid" quotes whole, characters. */
const QUOTED_ARGUMENT_MAX = 80;

/**
 * Commander's usage error with the refused value cut to its first {@link QUOTED_ARGUMENT_MAX} characters and its
 * length (a trial: `whatif --server` of 100,000 characters echoed them all; the option's own message says what is
 * wrong with it).
 */
export function shortArgument(text: string): string {
  return text.replace(/(argument ')([^]*?)(' is invalid)/, (_m, open: string, value: string, close: string) =>
    [...value].length <= QUOTED_ARGUMENT_MAX ? `${open}${value}${close}` : `${open}${[...value].slice(0, QUOTED_ARGUMENT_MAX).join('')}…' (${[...value].length} characters)${close.slice(1)}`);
}

/** Longest JSON-quoted value an error line quotes whole, characters (an id's longest: 256). */
const QUOTED_VALUE_MAX = 256;

/**
 * An error line with each JSON-quoted string of more than {@link QUOTED_VALUE_MAX} characters cut to its first
 * {@link QUOTED_ARGUMENT_MAX} and its length (a trial: `--slo-p99-ms` of 5,000 digits was quoted whole by its range
 * check, a 5,220-character line).
 */
export function shortQuoted(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => {
    let value: string;
    try {
      value = JSON.parse(quoted) as string;
    } catch {
      value = quoted.slice(1, -1); // quotes in prose, not a JSON string
    }
    const chars = [...value];
    return chars.length <= QUOTED_VALUE_MAX ? quoted : `${JSON.stringify(chars.slice(0, QUOTED_ARGUMENT_MAX).join('')).slice(0, -1)}…" (${chars.length} characters)`;
  });
}
