/**
 * The editable chip catalog (table `chips`): parse a catalog CSV and merge it
 * into the stored rows.
 *
 * CSV columns (header required, any order, names matched ignoring case: `Chip` is `chip`): `chip` (required), `kind`
 * (cpu|gpu|npu|fpga|asic), `vendor`, `names` (`;`-separated raw names),
 * `peak_ops_per_s`, `memory_bw_bytes_s`, `power_w`, `price_per_hour` (decimal
 * numbers ≥ 0 up to {@link LIMITS}, scientific notation allowed). A blank cell keeps the stored value; a new
 * chip needs kind and vendor. A line with more cells than the header, or a chip
 * already on an earlier line, is a problem (the earlier line is kept). Within one file a name is one chip's only
 * (matched whole, ignoring case, as the MLPerf import matches device names) and is no other line's chip id. Bad lines are returned as problems naming the
 * file, line, field and value (STYLE §2), one per bad field of the line (a bad cell count stops at that; beside
 * a bad chip id the other cells are checked but a blank kind or vendor, which may keep a stored chip's); the good
 * lines are imported. A quote left open takes in the rest of the file: that is one problem
 * naming the lines; a cell that is not valid UTF-8 (U+FFFD after decoding) is one too.
 */
import { assertColumnsOnce, csvTextProblem, parseCsvLines, unclosedQuoteMessage } from '../simulator/csv.ts';
import type { ImportProblem, NamedText } from '../model/help.ts';
import { MAX_ID_CHARS, type ChipInfo } from './types.ts';
import { BIDI_OR_SEPARATOR, codePoint, INVISIBLE_OR_REPLACEMENT, quoteName, someQuoted } from '../names.ts';

const KINDS = ['cpu', 'gpu', 'npu', 'fpga', 'asic'] as const;
const NUMERIC = ['peak_ops_per_s', 'memory_bw_bytes_s', 'power_w', 'price_per_hour'] as const;
const COLUMNS = ['chip', 'kind', 'vendor', 'names', ...NUMERIC] as const;
/** A plain decimal (scientific notation allowed): not hex, binary, octal or Infinity, which Number() also takes. */
const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Units of the numeric columns, for messages. */
const UNITS: Record<(typeof NUMERIC)[number], string> = { peak_ops_per_s: 'ops/s', memory_bw_bytes_s: 'bytes/s', power_w: 'W', price_per_hour: 'per hour' };
/**
 * Largest accepted value of each numeric column: about 1,000× the largest of its kind sold today
 * (a 1e18 ops/s accelerator, 1e13 bytes/s of HBM, a 1e4 W rack, 1e3 per hour), so a typo in the
 * exponent is refused instead of turning every cost into Infinity.
 */
const LIMITS: Record<(typeof NUMERIC)[number], number> = { peak_ops_per_s: 1e21, memory_bw_bytes_s: 1e16, power_w: 1e7, price_per_hour: 1e6 };

/**
 * Whether an id is a chip id: at most {@link MAX_ID_CHARS} lower-case letters, digits, '.', '_', '-' and '+' (the
 * MLPerf import joins the chips of a multi-node system with '+', services/model/chips.ts: `nvidia-a100+nvidia-a30`;
 * without it such a row was refused by `chips list` on every call, and no command could remove it).
 */
const isChipId = (id: string): boolean => id.length <= MAX_ID_CHARS && /^[a-z0-9][a-z0-9._+-]*$/.test(id);
/** What {@link isChipId} accepts, for messages. */
const CHIP_ID_RULE = `at most ${MAX_ID_CHARS} lower-case letters, digits, '.', '_', '-' and '+'`;

/**
 * Least accepted peak ops/s and memory bandwidth: 1e6 (a microcontroller does more). A figure below it is one in
 * G or T units typed without its exponent (a trial's Pi 4 at `48` ops/s, meant as 48 GOPS, made every estimate
 * scaled from it 10^9 slower, and turned another chip's answer into "even one request alone exceeds it").
 */
const LEAST = 1e6;

/** Whether a figure is in its column's range: ≥ {@link LEAST} for peak ops/s and bandwidth (unknown: blank), ≥ 0 otherwise, at most {@link LIMITS}. */
const figureInRange = (name: (typeof NUMERIC)[number], v: number): boolean => (name === 'peak_ops_per_s' || name === 'memory_bw_bytes_s' ? v >= LEAST : v >= 0) && v <= LIMITS[name];

/** `[1e6, limit]` or `[0, limit]` and the unit of a figure, for messages. */
const figureRange = (name: (typeof NUMERIC)[number]): string => `[${name === 'peak_ops_per_s' || name === 'memory_bw_bytes_s' ? LEAST : 0}, ${LIMITS[name]}] ${UNITS[name]}`;

/** Control characters: not in a vendor or a name (a quoted cell's line break or a NUL broke `chips list`'s table). */
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What is wrong with a stored catalog row, by the rules `chips import` applies to a CSV line: a chip id of at most
 * {@link MAX_ID_CHARS} lower-case letters, digits, '.', '_', '-' and '+'; a kind of cpu|gpu|npu|fpga|asic; a vendor; no
 * control characters in the vendor or names; each figure null or a finite number in its range ({@link LIMITS}).
 * A row written past `chips import` (`sql --write`, the ClickHouse port) can break them.
 * @returns One `field: why, got value` per problem; [] for a good row.
 */
export function catalogRowProblems(row: ChipInfo): string[] {
  const problems: string[] = [];
  const got = (v: unknown) => JSON.stringify(v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? String(v) : v);
  if (typeof row.chip !== 'string' || !isChipId(row.chip)) problems.push(`chip: expected an id of ${CHIP_ID_RULE}, got ${got(row.chip)}`);
  if (!(KINDS as readonly string[]).includes(row.kind)) problems.push(`kind: expected one of ${KINDS.join(', ')}, got ${got(row.kind)}`);
  if (typeof row.vendor !== 'string' || row.vendor.trim() === '') problems.push(`vendor: a chip needs a vendor, got ${got(row.vendor)}`);
  else if (CONTROL.test(row.vendor)) problems.push(`vendor: expected a name without control characters, got ${got(row.vendor)}`);
  if (!Array.isArray(row.names) || row.names.some((n) => typeof n !== 'string' || CONTROL.test(n))) problems.push(`names: expected names without control characters, got ${got(row.names)}`);
  for (const name of NUMERIC) {
    const v = row[name];
    if (v === null) continue;
    if (!(typeof v === 'number' && figureInRange(name, v))) problems.push(`${name}: expected null or a number in ${figureRange(name)}, got ${got(v)}`);
  }
  return problems;
}

/**
 * Split catalog rows into those the API can answer and those it cannot: a row breaking a rule `chips import` applies
 * ({@link catalogRowProblems}: id, kind, vendor, names, figures in range), each with what is wrong
 * (e.g. `kind: expected one of cpu, gpu, npu, fpga, asic, got "tpu"`).
 */
export function validChips(rows: readonly ChipInfo[]): { chips: ChipInfo[]; invalid: { chip: string; problem: string }[] } {
  const chips: ChipInfo[] = [];
  const invalid: { chip: string; problem: string }[] = [];
  for (const row of rows) {
    const problems = catalogRowProblems(row);
    if (problems.length === 0) chips.push(row);
    else invalid.push({ chip: String(row.chip), problem: problems.join('; ') });
  }
  return { chips, invalid };
}

/** Result of {@link mergeChipCatalog}. */
export interface CatalogMerge {
  /** The rows to write (merged with the stored ones), in file order. */
  rows: ChipInfo[];
  /** Chips that were not in the catalog before. */
  added: number;
  problems: ImportProblem[];
  /**
   * Names this file gives a chip that are another stored chip's id or raw name: from now on the MLPerf import puts
   * that device's runs on `chip` (import-mlperf.ts: a catalog's claim wins), while rows stored so far stay on `from` until those runs are imported again.
   * A raw name moves: the caller takes it off `from` ({@link withoutClaimedNames}). Meant for a fleet chip taking over
   * the board an import made (`arm-mali-g610-mp4`); said, since a new chip that listed `rpi4-cortex-a72` silently took
   * the next import's 190 Raspberry Pi 4 rows (a trial).
   */
  claims: { line: number; chip: string; name: string; from: string }[];
}

/**
 * Parse a catalog CSV and merge it onto the stored chips.
 * @param stored  The catalog as stored, by chip id.
 * @throws {RangeError} when the text is UTF-16 or its lines end in CR alone ({@link csvTextProblem}), is empty (blanks or
 *   a byte-order mark alone), or the header has no `chip` column, names an unknown column or one twice.
 */
export function mergeChipCatalog(file: NamedText, stored: ReadonlyMap<string, ChipInfo>): CatalogMerge {
  const unreadable = csvTextProblem(file.text);
  if (unreadable) throw new RangeError(`${file.file}: ${unreadable}`);
  // An empty file (or a byte-order mark alone) is said as such, not as a header without a chip column (a trial).
  if (file.text.replace(/^\uFEFF/, '').trim() === '') throw new RangeError(`${file.file}: empty file (expected a header with a chip column: ${COLUMNS.join(', ')})`);
  const [head, ...records] = parseCsvLines(file.text.replace(/^\uFEFF/, ''));
  // Column names are matched ignoring case and surrounding spaces (a trial's spreadsheet header `Chip,Kind` was refused).
  const written = (head?.cells ?? []).map((h) => h.trim());
  const header = written.map((h) => h.toLowerCase());
  if (!header.includes('chip')) throw new RangeError(`${file.file}: the header needs a chip column, got ${written.length > 8 ? `${written.length.toLocaleString('en-US')} columns: ${someQuoted(written)}` : JSON.stringify(written.join(','))}`);
  const unknown = written.filter((_, i) => !(COLUMNS as readonly string[]).includes(header[i]!));
  if (unknown.length > 0) throw new RangeError(`${file.file}: unknown column(s) ${someQuoted(unknown)}; expected some of ${COLUMNS.join(', ')}`);
  assertColumnsOnce(file.file, header);
  const rows: ChipInfo[] = [];
  const problems: ImportProblem[] = [];
  const seen = new Map<string, ChipInfo>(); // chips of earlier lines of this file
  // Which line's chip each raw name of this file (lower case, as the MLPerf import matches it) belongs to, and the
  // file's chip ids. Against the stored catalog a name may point elsewhere on purpose: listing the id an MLPerf import
  // gave a board (`arm-mali-g610-mp4`) under the fleet's own chip sends later imports of it there.
  const nameOwner = new Map<string, string>();
  const ids = new Set(records.map((r) => (r.cells[header.indexOf('chip')] ?? '').trim()).filter(isChipId));
  // The stored chips' raw names (lower case) and who lists them, for the claims this file makes.
  const storedOwners = new Map<string, string[]>();
  for (const c of stored.values()) for (const n of c.names) storedOwners.set(n.toLowerCase(), [...(storedOwners.get(n.toLowerCase()) ?? []), c.chip]);
  const claims: CatalogMerge['claims'] = [];
  let added = 0;
  records.forEach((record) => {
    const { line, cells } = record;
    if (cells.every((c) => c.trim() === '') && !record.unclosed) return;
    const cell = (name: string): string => (cells[header.indexOf(name)] ?? '').trim();
    const bad = (field: string, value: string, message: string): void => {
      problems.push({ file: file.file, line, field, value, message });
    };
    if (record.unclosed) return bad('quote', cells.join(',').slice(0, 200), unclosedQuoteMessage(record));
    const spans = record.end > line ? ` (lines ${line}–${record.end} are one record: a quoted cell holds a line break)` : '';
    const broken = cells.findIndex((c) => c.includes('\uFFFD'));
    if (broken >= 0) return bad(header[broken] ?? 'line', cells[broken]!, `the cell is not valid UTF-8 (save the file as UTF-8)${spans}`);
    if (cells.length > header.length) return bad('line', cells.slice(header.length).join(','), `expected ${header.length} cells as in the header, got ${cells.length} (an unquoted comma?)${spans}`);
    // A short line is a truncated one, not blank cells (which keep the stored values: write them as empty cells, a,,).
    if (cells.length < header.length) return bad('line', cells.join(','), `expected ${header.length} cells as in the header, got ${cells.length} (a truncated line? a blank cell keeps the stored value: write it as an empty cell)${spans}`);
    const id = cell('chip');
    // Every bad field of the line is reported, not the first only: one pass fixes the file.
    const before = problems.length;
    const idOk = isChipId(id);
    if (!idOk) {
      // A character outside printable ASCII is named by its code point, the id quoted with it escaped (a trial: U+200B
      // printed raw, "zz​chip", read as a valid id).
      const odd = [...id].find((c) => !/[\x20-\x7e]/.test(c));
      bad('chip', id.length > MAX_ID_CHARS ? `${id.slice(0, 40)}…` : id, `expected a chip id of ${CHIP_ID_RULE}, got ${id.length > MAX_ID_CHARS ? `${id.length} characters` : `${odd === undefined ? '' : `${codePoint(odd)} in `}${quoteName(id)}`}`);
    } else if (seen.has(id)) return bad('chip', id, `chip ${JSON.stringify(id)} is already on an earlier line of this file; that line is kept`);
    // With a bad id the line's other cells are still checked (a trial: a bad id hid a bad kind on the same line), but
    // not against a stored chip: whether a blank kind or vendor keeps a stored value cannot be told.
    const base = idOk ? stored.get(id) : undefined;
    // In any case, as the column names (a trial: `NPU` was refused).
    const kind = cell('kind').toLowerCase() || base?.kind || '';
    if (!(KINDS as readonly string[]).includes(kind) && (idOk || kind !== '')) bad('kind', kind, `expected one of ${KINDS.join(', ')}${kind === '' ? ' for a new chip' : ''}, got ${JSON.stringify(kind)}`);
    const vendor = cell('vendor') || base?.vendor || '';
    if (vendor === '' && idOk) bad('vendor', '', `a new chip needs a vendor`);
    for (const name of ['vendor', 'names']) {
      const hidden = BIDI_OR_SEPARATOR.exec(cell(name)) ?? INVISIBLE_OR_REPLACEMENT.exec(cell(name));
      if (CONTROL.test(cell(name))) bad(name, cell(name), `control characters (a line break, NUL, a tab) are not allowed in ${name}, got ${JSON.stringify(cell(name))}`);
      // A right-to-left override reorders `chips list`'s table; a zero-width space makes a name that prints as another
      // and matches no device (a re-test: vendor "Ac\u202eme" and name "Acme\u200bX2" were stored).
      else if (hidden) bad(name, cell(name), `characters that reorder text or do not show (${codePoint(hidden[0])}) are not allowed in ${name}, got ${quoteName(cell(name))}`);
    }
    // A vendor or a raw name is a name, as long as an id at most (a trial's 100,000-character vendor was stored).
    const long = [['vendor', [cell('vendor')]], ['names', cell('names').split(';').map((n) => n.trim())]] as const;
    for (const [name, values] of long) {
      // Characters are code points: an emoji is one (two UTF-16 units).
      const over = values.map((v) => [...v]).find((chars) => chars.length > MAX_ID_CHARS);
      if (over !== undefined) bad(name, `${over.slice(0, 40).join('')}…`, `a ${name === 'vendor' ? 'vendor' : 'name'} of at most ${MAX_ID_CHARS} characters, got ${over.length}`);
    }
    const numbers: Partial<Record<(typeof NUMERIC)[number], number | null>> = {};
    for (const name of NUMERIC) {
      const text = cell(name);
      if (text === '') {
        numbers[name] = base?.[name] ?? null;
        continue;
      }
      const v = DECIMAL.test(text) ? Number(text) : Number.NaN;
      // A price or power of 0 means something (free, passive); a chip with 0 ops/s or 0 bytes/s does not (leave it blank).
      const positive = name === 'peak_ops_per_s' || name === 'memory_bw_bytes_s';
      // The hint's value is computed (`48` → `4.8e10`), and given only where it would be accepted.
      const giga = v * 1e9;
      const units = positive && v > 0 && v < LEAST && figureInRange(name, giga)
        ? ` (${text} ${UNITS[name]} looks like a figure in G${UNITS[name]}: write ${Number(giga.toPrecision(12)).toExponential().replace('e+', 'e')})` : '';
      // A figure too small for a double reads as 0 (a trial: price 1e-400 stored as 0, free): refused, not rounded.
      const underflow = v === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''));
      if (underflow) bad(name, text, `${JSON.stringify(text)} is below the smallest number stored (about 5e-324) and would be stored as 0: ${positive ? 'leave the cell blank when unknown' : 'write 0'}, or a figure in its unit (${UNITS[name]})`);
      else if (!figureInRange(name, v)) bad(name, text, `expected a decimal number in ${figureRange(name)}${positive ? ' (leave the cell blank when unknown)' : ''}, got ${JSON.stringify(text)}${units}`);
      numbers[name] = v;
    }
    const names = cell('names') === '' ? [...(base?.names ?? [])] : [...new Set(cell('names').split(';').map((n) => n.trim()).filter(Boolean))].sort();
    for (const n of cell('names') === '' ? [] : names) {
      const key = n.toLowerCase();
      const owner = nameOwner.get(key);
      // The MLPerf import maps a system's device name, or its normalised id, to the chip listing it: within one file a
      // name on two chips, or a name that is another line's chip id, cannot say where that goes.
      if (key !== id && ids.has(key)) bad('names', n, `${JSON.stringify(n)} is the id of chip ${JSON.stringify(key)} in this file; a chip's names must not be another chip's id`);
      else if (owner !== undefined) bad('names', n, `${JSON.stringify(n)} is already a name of chip ${JSON.stringify(owner)} on an earlier line (names match whole, ignoring case); a name belongs to one chip`);
    }
    if (problems.length > before) return;
    for (const n of cell('names') === '' ? [] : names) {
      const key = n.toLowerCase();
      nameOwner.set(key, id);
      // A raw name another stored chip lists moves here (importChips takes it off that chip): listed on two chips, the
      // MLPerf import would keep it on one by catalog order, whatever was claimed last (a trial: the note named one chip
      // and the rows went to the other). Another chip's id is a redirect, said once: when first listed.
      const holder = (storedOwners.get(key) ?? []).find((c) => c !== id);
      const listedBefore = (stored.get(id)?.names ?? []).some((m) => m.toLowerCase() === key);
      if (holder !== undefined) claims.push({ line, chip: id, name: n, from: holder });
      else if (!listedBefore && key !== id && stored.has(key)) claims.push({ line, chip: id, name: n, from: key });
    }
    const row: ChipInfo = {
      chip: id, kind: kind as ChipInfo['kind'], vendor, names,
      peak_ops_per_s: numbers.peak_ops_per_s ?? null, memory_bw_bytes_s: numbers.memory_bw_bytes_s ?? null,
      power_w: numbers.power_w ?? null, price_per_hour: numbers.price_per_hour ?? null,
    };
    if (!base) added++;
    seen.set(id, row);
    rows.push(row);
  });
  return { rows, added, problems, claims };
}

/**
 * Chips a benchmark import found (kind, vendor and raw names; no specs or price), merged onto the
 * stored catalog: a stored chip keeps its kind, vendor, specs and price (what `chips import` or an
 * earlier import wrote) and gains the raw names it did not list; a new chip is written as found.
 * @param found   Rows of the import, e.g. services/model/import-mlperf.ts `chips`.
 * @param stored  The catalog as stored, by chip id.
 * @returns The rows to write, in the order of `found`.
 */
export function mergeFoundChips(found: readonly ChipInfo[], stored: ReadonlyMap<string, ChipInfo>): ChipInfo[] {
  return found.map((f) => {
    const base = stored.get(f.chip);
    if (!base) return { ...f, names: [...f.names] };
    const pick = (name: (typeof NUMERIC)[number]): number | null => base[name] ?? f[name];
    return {
      chip: f.chip, kind: base.kind, vendor: base.vendor, names: [...new Set([...base.names, ...f.names])].sort(),
      peak_ops_per_s: pick('peak_ops_per_s'), memory_bw_bytes_s: pick('memory_bw_bytes_s'), power_w: pick('power_w'), price_per_hour: pick('price_per_hour'),
    };
  });
}

/**
 * The stored chips that lost raw names to a merge's claims, with those names taken off (a name lists on one chip), for
 * chips the file does not list itself; `from` of an id claim (a redirect) keeps its names.
 * @param merge   The merge, its claims and rows. @param stored  The catalog as stored, by chip id.
 * @returns rows to write beside the merge's, in catalog order of the claims.
 */
export function withoutClaimedNames(merge: Pick<CatalogMerge, 'claims' | 'rows'>, stored: ReadonlyMap<string, ChipInfo>): ChipInfo[] {
  const inFile = new Set(merge.rows.map((r) => r.chip));
  const taken = new Map<string, Set<string>>();
  for (const c of merge.claims) {
    const from = stored.get(c.from);
    if (!from || inFile.has(c.from) || !from.names.some((m) => m.toLowerCase() === c.name.toLowerCase())) continue;
    taken.set(c.from, (taken.get(c.from) ?? new Set()).add(c.name.toLowerCase()));
  }
  return [...taken].map(([chip, names]) => ({ ...stored.get(chip)!, names: stored.get(chip)!.names.filter((m) => !names.has(m.toLowerCase())) }));
}
