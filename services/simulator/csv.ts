/**
 * Minimal RFC 4180 CSV reading and writing for the simulator's data cuts
 * (`data/azure-llm-trace/`, `data/mlperf-singlestream/`). No dependency: the
 * files are small (< 1 MiB each) and plain.
 */

/**
 * Parse CSV text into rows of string fields.
 *
 * Behaviour: fields may be quoted with `"` (a doubled `""` is a literal quote
 * and commas or line breaks inside quotes are kept); a quote opens a quoted
 * field only at the start of a field, elsewhere it is a literal character
 * (`12" rack`), as Python's csv module reads it; both LF and CRLF line ends
 * are accepted; a final line break does not make an empty row.
 * @param text  The whole file, UTF-8 decoded.
 * @returns     Rows in file order, the header row first.
 * @example see test/unit/simulator/simulate.test.ts
 */
export function parseCsv(text: string): string[][] {
  if (!text.includes('"')) {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l).split(','));
  }
  return parseCsvLines(text).map((r) => r.cells);
}

/** One CSV record with the physical lines it spans. */
export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** 1-based line where it ends (> line when a quoted field holds line breaks). */
  end: number;
  cells: string[];
  /** A quoted field is still open at the end of the text. */
  unclosed: boolean;
}

/**
 * Parse CSV text as {@link parseCsv} does, keeping each record's first and last line and whether a
 * quoted field was left open at the end (importers name those lines in their problems).
 * @param text  The whole file, UTF-8 decoded.
 */
export function parseCsvLines(text: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let atStart = true;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && atStart) {
      quoted = true;
      atStart = false;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      atStart = true;
    } else if (ch === '\n') {
      row.push(field);
      out.push({ line: start, end: line, cells: row, unclosed: false });
      row = [];
      field = '';
      atStart = true;
      start = ++line;
    } else if (ch !== '\r') {
      field += ch;
      atStart = false;
    }
  }
  if (field !== '' || row.length > 0 || quoted) {
    row.push(field);
    out.push({ line: start, end: quoted && text.endsWith('\n') ? line - 1 : line, cells: row, unclosed: quoted });
  }
  return out;
}

/**
 * What an importer says of a record whose quoted field is never closed (a stray `"` at the start of a cell): it
 * took in every later line of the file.
 * @returns e.g. `a quoted field opened on line 7 is never closed: lines 7–58 (the rest of the file) are not read`.
 */
export function unclosedQuoteMessage(r: CsvRecord): string {
  return `a quoted field opened on line ${r.line} is never closed: lines ${r.line}–${r.end} (the rest of the file) are not read`;
}

/**
 * Why a file's decoded text is not CSV an importer can read, or null: gzip, UTF-16 (NUL bytes between the letters, the
 * byte-order mark read as U+FFFD), or line ends of CR alone (classic Mac), which read as one long line whose header
 * ran into the first row (a trial: `unknown column(s) "price_per_hourzz-cr"`).
 * @param text  The file decoded as UTF-8.
 */
export function csvTextProblem(text: string): string | null {
  const head = text.slice(0, 4096);
  // gzip's magic bytes 1f 8b (0x8b is no UTF-8: U+FFFD): named, not read as CR-only or UTF-16 by chance (a re-test).
  if (head.startsWith('\u001f\uFFFD')) return 'a gzip file: decompress it first (gunzip)';
  if (/^\uFFFD\uFFFD/.test(head) || (head.match(/\u0000/g)?.length ?? 0) > head.length / 4) return 'not UTF-8 text (UTF-16?): save the file as UTF-8';
  if (text.includes('\r') && !text.includes('\n')) return 'its lines end in CR alone: save it with LF (or CRLF) line ends';
  return null;
}

/**
 * The first line (1-based) of decoded text that held bytes which are not UTF-8 (decoded as U+FFFD), or null: a
 * Latin-1 file's accented letters (a trial: a device `dév` stored as `d\uFFFDv`).
 */
export function invalidUtf8Line(text: string): number | null {
  const at = text.indexOf('\uFFFD');
  return at < 0 ? null : text.slice(0, at).split('\n').length;
}

/**
 * Refuse text an importer cannot read as a whole: UTF-16 or CR-only line ends ({@link csvTextProblem}), or bytes
 * that are not UTF-8 ({@link invalidUtf8Line}).
 * @throws {RangeError} `file: why` (`r.csv: line 2 is not valid UTF-8 (save the file as UTF-8)`).
 */
export function assertCsvText(file: string, text: string): void {
  const unreadable = csvTextProblem(text);
  if (unreadable) throw new RangeError(`${file}: ${unreadable}`);
  const broken = invalidUtf8Line(text);
  if (broken !== null) throw new RangeError(`${file}: line ${broken} is not valid UTF-8 (save the file as UTF-8)`);
}

/**
 * Parse CSV text into one object per data row, keyed by the header's names.
 *
 * @param text  The whole file; its first row is the header.
 * @returns     One record per data row; a missing trailing field reads as ''.
 */
export function parseCsvRecords(text: string): Record<string, string>[] {
  const rows = parseCsv(text);
  const header = rows[0] ?? [];
  const out: Record<string, string>[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r];
    if (cells.length === 1 && cells[0] === '') continue;
    const rec: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) rec[header[c]] = cells[c] ?? '';
    out.push(rec);
  }
  return out;
}

/**
 * Parse CSV text into one object per data row, as {@link parseCsvRecords}, each with the physical line it starts on
 * (blank lines and line breaks inside quoted fields counted), so a reader's problem names the line an editor shows.
 *
 * @param text  The whole file; its first row is the header.
 * @returns     The header's names, and per data row its {@link CsvRecord} (1-based line; `unclosed`: a quoted field
 *   opened there never closes, see {@link unclosedQuoteMessage}; `cells`, as many as the line has, so a reader can
 *   refuse a row of another width) with `record`, its cells by the header's names (a missing trailing one reads as '').
 */
export function parseCsvRecordLines(text: string): { header: string[]; rows: (CsvRecord & { record: Record<string, string> })[] } {
  const [head, ...rows] = parseCsvLines(text);
  const header = head?.cells ?? [];
  return {
    header,
    rows: rows.filter((r) => !(r.cells.length === 1 && r.cells[0] === '')).map((r) => ({ ...r, record: Object.fromEntries(header.map((h, c) => [h, r.cells[c] ?? ''])) })),
  };
}

/**
 * Quote one CSV field when it needs it (comma, quote or line break).
 *
 * @param value  The field; numbers are written with `String(value)`.
 * @returns      The field as it appears in the file.
 */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Refuse a header that names a column twice: which of the two cells is the row's? (A later one had silently won in the
 * MLPerf import, the first in the SingleStream import.) Blank names are not compared.
 * @param file    The file's name for the message (as the caller names files).
 * @param header  The header's names, as the reader matches them (every one compared, read or not).
 * @throws {RangeError} `file: the header names "x" twice; give each column once`.
 */
export function assertColumnsOnce(file: string, header: readonly string[]): void {
  const twice = [...new Set(header.filter((h, i) => h !== '' && header.indexOf(h) !== i))];
  if (twice.length > 0) throw new RangeError(`${file}: the header names ${twice.map((h) => JSON.stringify(h)).join(', ')} twice; give each column once`);
}

/** What a row of `got` cells under a header of `expected` suggests: more cells, a number written with a thousands separator; else ''. */
export function moreCellsHint(expected: number, got: number): string {
  return got > expected ? ' (a number with a thousands separator? write 1234, or quote the cell)' : '';
}
