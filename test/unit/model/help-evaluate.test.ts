/**
 * The HELP benchmark on a fixed subset (test/fixtures/help-nb201-subset/:
 * the first 3,000 NAS-Bench-201 architectures × 10 devices; README there):
 * parseHelp's features and bad-line reports, the acceptance
 * properties C1 (80/20 split, seed 1) and C2 (few-shot, k = 20, seed 1)
 * asserted as written for the whole dataset, determinism, and both
 * baselines recomputed here another way (C1: least squares by Cholesky on a
 * treatment-coded design, checked against its normal equations; C2: the
 * best-correlated device over the shots and its line in closed form).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateFewShot, evaluateSplit, shuffled, type DeviceResult, type EvaluationReport } from '../../../services/model/evaluate.ts';
import { HelpCoverageError, helpBatchOf, oneHotColumns, parseHelp, type HelpDataset, type NamedText } from '../../../services/model/help.ts';
import { fitFewShot, screenShots } from '../../../services/model/transfer.ts';

const SUBSET = 'test/fixtures/help-nb201-subset/';
const BAD = `${SUBSET}bad/`;
const LATENCY_FILES = ['latency_gpu.csv', 'latency_cpu.csv', 'latency_edge_mobile.csv'];
const DEVICES = ['1080ti_1', '2080ti_32', 'titanx_256', 'gold_6226', 'silver_4114', 'raspi4', 'pixel2', 'samsung_a50', 'eyeriss', 'fpga'];
const EDGES = ['e_1_0', 'e_2_0', 'e_2_1', 'e_3_0', 'e_3_1', 'e_3_2'];
const OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'];
const N_ARCH = 3000;

/** A fixture file named by its path from the repository root (as the CLI names files). */
const read = (path: string): NamedText => ({ file: path, text: readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8') });

/** A plain split of a fixture file (no quotes in these files): header and rows of cells. */
function table(path: string): { header: string[]; rows: string[][] } {
  const lines = read(path).text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

/** The split / shots order evaluate.ts draws (the baselines below are recomputed independently on it). */
const shuffledOrder = shuffled;

/** ±10 % accuracy counted here: |p − t| ≤ 0.1·t (with metrics.ts's 1e-12 relative slack). */
const acc10 = (pred: number[], truth: number[]): number => pred.filter((p, i) => Math.abs(p - truth[i]!) <= 0.1 * truth[i]! * (1 + 1e-12)).length / pred.length;
const mean = (v: readonly number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const medianOf = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Solve the symmetric positive definite system A x = b by Cholesky (A = L Lᵀ). */
function cholesky(A: number[][], b: number[]): number[] {
  const p = b.length;
  const L = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  const z = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * z[k]!;
    z[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

/** Pearson's r in two passes (written here, not metrics.ts's). */
function pearsonHere(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  a.forEach((x, i) => {
    sab += (x - ma) * (b[i]! - mb);
    saa += (x - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  });
  return sab / Math.sqrt(saa * sbb);
}

const subset: HelpDataset = parseHelp(read(`${SUBSET}architectures.csv`), LATENCY_FILES.map((f) => read(SUBSET + f)));
let c1: EvaluationReport | undefined;
/** The C1 report (seed 1, every device), computed once for the file (about 18 s on one core). */
const c1Report = (): EvaluationReport => (c1 ??= evaluateSplit(subset, { seed: 1 }));
const byDevice = (r: EvaluationReport): Map<string, DeviceResult> => new Map(r.devices.map((d) => [d.device, d]));

describe('parseHelp on the NAS-Bench-201 subset', () => {
  const d = subset;
  const arch = table(`${SUBSET}architectures.csv`);

  it('aligns 3,000 architectures and the 10 devices in file and column order, with no problems', () => {
    expect(d.problems).toEqual([]);
    expect(d.archIds).toEqual(Array.from({ length: N_ARCH }, (_, i) => i));
    expect(d.devices).toEqual(DEVICES);
    expect(d.X).toHaveLength(N_ARCH);
  });

  it('has 30 one-hot features (6 edges × 5 ops) first, then the 5 op counts; arch_str is not a feature', () => {
    const sortedOps = [...OPS].sort();
    expect(d.features.map((f) => [f.name, f.kind, f.column])).toEqual([
      ...EDGES.flatMap((e) => sortedOps.map((o) => [`${e}=${o}`, 'onehot', e])),
      ...OPS.map((o) => [`n_${o}`, 'numeric', `n_${o}`]),
    ]);
    expect(d.features.some((f) => f.column === 'arch_str' || f.name.startsWith('arch_str'))).toBe(false);
    expect(oneHotColumns(d)).toEqual(Array.from({ length: 30 }, (_, j) => j));
  });

  it('encodes every row from its CSV cells: one op per edge (one-hot sums to 6), counts as numbers', () => {
    const col = (name: string): number => arch.header.indexOf(name);
    const expected = arch.rows.map((cells) => d.features.map((f) => {
      if (f.kind === 'numeric') return Number(cells[col(f.column)]);
      const [edge, op] = f.name.split('=') as [string, string];
      return cells[col(edge)] === op ? 1 : 0;
    }));
    expect(d.X.map((x) => Array.from(x))).toEqual(expected);
    const oneHot = oneHotColumns(d);
    expect(d.X.filter((x) => oneHot.reduce((s, j) => s + x[j]!, 0) !== 6)).toEqual([]);
    // The count columns agree with the one-hot edges (a consistency check of the data itself).
    const counts = (x: Float64Array): number[] => OPS.map((op) => EDGES.filter((e) => x[d.features.findIndex((f) => f.name === `${e}=${op}`)] === 1).length);
    expect(d.X.map(counts)).toEqual(d.X.map((x) => OPS.map((op) => x[d.features.findIndex((f) => f.name === `n_${op}`)]!)));
  });

  it('reads every latency cell as the number written in its file', () => {
    for (const f of LATENCY_FILES) {
      const t = table(SUBSET + f);
      t.header.slice(1).forEach((device, c) => {
        expect(Array.from(d.latency.get(device)!)).toEqual(t.rows.map((r) => Number(r[c + 1])));
      });
    }
  });
});

describe('parseHelp on bad input', () => {
  const d = parseHelp(read(`${BAD}architectures.csv`), [read(`${BAD}latency_cpu.csv`), read(`${BAD}latency_edge_mobile.csv`)]);
  const A = `${BAD}architectures.csv`;
  const C = `${BAD}latency_cpu.csv`;
  const E = `${BAD}latency_edge_mobile.csv`;
  const POSITIVE = 'latency must be a positive number of ms';

  it('reports every bad line with its file, 1-based line (header = 1), field, value and reason', () => {
    expect(d.problems.map((p) => [p.file, p.line, p.field, p.value, p.message])).toEqual([
      [A, 7, 'arch_idx', 'x5', 'not a non-negative integer'],
      [A, 8, 'arch_idx', '2', 'duplicate arch_idx'],
      [A, 9, '(row)', expect.stringMatching(/^6,\|nor_conv_3x3~0\|/), 'expected 13 columns, got 7'],
      [C, 4, 'silver_4114', 'inf', POSITIVE],
      [E, 3, 'raspi4', 'abc', POSITIVE],
      [E, 4, 'raspi4', '0', POSITIVE],
      [E, 4, 'pixel2', '-1', POSITIVE],
      [E, 5, 'raspi4', '', POSITIVE],
      [E, 6, 'arch_idx', '99', `not in ${A}`],
      [E, 7, '(row)', '4,1.5', 'expected 3 columns, got 2'],
      [E, 8, 'raspi4', 'NaN', POSITIVE],
      [E, 9, 'arch_idx', '5', `not in ${A}`], // its architectures line (x5) was rejected
    ]);
  });

  it('reads cells and headers without the blanks around them, as the other imports (a trial: " 8" was not a positive number)', () => {
    const arch = { file: 'a.csv', text: ' arch_idx , op \n 0 , conv \n1,pool\n' };
    const lat = { file: 'l.csv', text: 'arch_idx , raspi4 \n 0 ,  7  \n1, 8\n' };
    const padded = parseHelp(arch, [lat]);
    expect([padded.problems, padded.archIds, padded.devices, Array.from(padded.latency.get('raspi4')!)]).toEqual([[], [0, 1], ['raspi4'], [7, 8]]);
    // The blanks' values read as the unpadded files' do.
    const plain = parseHelp({ file: 'a.csv', text: 'arch_idx,op\n0,conv\n1,pool\n' }, [{ file: 'l.csv', text: 'arch_idx,raspi4\n0,7\n1,8\n' }]);
    expect(padded.X.map((x) => Array.from(x))).toEqual(plain.X.map((x) => Array.from(x)));
  });

  it('keeps the good architectures and the valid cells of partly bad lines', () => {
    expect(d.archIds).toEqual([0, 1, 2, 3, 4]);
    expect(d.devices).toEqual(['gold_6226', 'silver_4114', 'raspi4', 'pixel2']);
    expect(Array.from(d.latency.get('gold_6226')!)).toEqual([10.5246, 15.1792, 11.3814, 4.32164, 7.78695]);
    expect(Array.from(d.latency.get('silver_4114')!)).toEqual([10.2675, 25.7372, NaN, 5.70366, 10.2886]);
    expect(Array.from(d.latency.get('raspi4')!)).toEqual([10.482, NaN, NaN, NaN, NaN]);
    expect(Array.from(d.latency.get('pixel2')!)).toEqual([9, 17, NaN, 12, 7]);
  });

  it.each([
    ['a latency header without arch_idx', () => parseHelp(read(`${BAD}architectures.csv`), [read(`${BAD}latency_no_arch_idx.csv`)]),
      `${BAD}latency_no_arch_idx.csv: the first column of the header must be arch_idx, got "idx"`],
    ['an architectures header without arch_idx', () => parseHelp(read(`${BAD}latency_no_arch_idx.csv`), [read(`${BAD}latency_cpu.csv`)]),
      `${BAD}latency_no_arch_idx.csv: the first column of the header must be arch_idx, got "idx"`],
    ['a device in two latency files', () => parseHelp(read(`${BAD}architectures.csv`), [read(`${BAD}latency_edge_mobile.csv`), read(`${BAD}latency_duplicate_device.csv`)]),
      `${BAD}latency_duplicate_device.csv: device "pixel2" also appears in an earlier latency file`],
    ['an empty architectures file', () => parseHelp({ file: 'empty.csv', text: '' }, []),
      'empty.csv: empty file (expected a header with arch_idx)'],
    ['a latency file of a byte-order mark alone', () => parseHelp(read(`${BAD}architectures.csv`), [{ file: 'bom.csv', text: '\uFEFF\r\n' }]),
      'bom.csv: empty file (expected a header with arch_idx)'],
    ['a header-only architectures file', () => parseHelp({ file: 'header.csv', text: 'arch_idx,e_1_0\r\n' }, []),
      'header.csv: no architectures'],
    ['the two files swapped', () => parseHelp(read(`${SUBSET}latency_gpu.csv`), [read(`${SUBSET}architectures.csv`)]),
      /^test\/fixtures\/help-nb201-subset\/latency_gpu\.csv: no op column: /],
    ['a latency file given as the architectures file', () => parseHelp(read(`${SUBSET}latency_cpu.csv`), [read(`${SUBSET}latency_gpu.csv`)]),
      /^test\/fixtures\/help-nb201-subset\/latency_cpu\.csv: no op column: every column is a number and "\w+" has fractions \("[\d.]+" for arch_idx \d+\), as in a latency file; /],
    // A breaker trial: the two files swapped wrote the op counts (n_*) as milliseconds.
    ['the architectures file given as a latency file', () => parseHelp(read(`${SUBSET}architectures.csv`), [read(`${SUBSET}architectures.csv`)]),
      `${SUBSET}architectures.csv: column "arch_str" holds no latency, only text such as "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_co…" (95 characters) (line 2): a latency file has arch_idx and one column of ms per device (HELP's latency_*.csv); the architectures file goes to --architectures`],
    // A trial: NAS-Bench-201's architectures with FBNet's latencies (arch_idx 0–4999 of 15,625) evaluated to garbage, silently.
    ['latencies for a third of the architectures (files of two benchmarks)', () => {
      const gpu = read(`${SUBSET}latency_gpu.csv`);
      return parseHelp(read(`${SUBSET}architectures.csv`), [{ file: 'other.csv', text: gpu.text.split('\n').slice(0, 1001).join('\n') }]);
    }, `other.csv: latencies for only 1,000 of the 3,000 architectures in ${SUBSET}architectures.csv; are the files from two benchmarks`],
    // The other way round (a trial: FBNet's 5,000 architectures with NAS-Bench-201's 15,625 latency lines stored 0–4999 against the wrong networks, exit 1).
    ['latency lines two thirds of which name no architecture (files of two benchmarks, the other way round)', () => {
      const archs = read(`${SUBSET}architectures.csv`);
      return parseHelp({ file: 'fewer.csv', text: archs.text.split('\n').slice(0, 1001).join('\n') }, [read(`${SUBSET}latency_gpu.csv`)]);
    }, /^test\/fixtures\/help-nb201-subset\/latency_gpu\.csv: 2,000 of its 3,000 latency lines name an arch_idx fewer\.csv does not have \(fewer\.csv: 1,000 architectures\), such as test\/fixtures\/help-nb201-subset\/latency_gpu\.csv:\d+: "\d+"; .*are the files from two benchmarks/],
    // One wrong file among right ones (a re-test: 300 matched lines of two good files outvoted its 150 foreign ones).
    ['one latency file two thirds of whose lines name no architecture, beside files that match', () => {
      const archs = { file: 'a100.csv', text: ['arch_idx,e_1_0', ...Array.from({ length: 100 }, (_, i) => `${i},conv`)].join('\n') };
      const lat = (file: string, device: string, n: number) => ({ file, text: [`arch_idx,${device}`, ...Array.from({ length: n }, (_, i) => `${i},${1 + i / 100}`)].join('\n') });
      return parseHelp(archs, [lat('good1.csv', 'devA', 100), lat('good2.csv', 'devB', 100), lat('foreign.csv', 'devC', 250)]);
    }, 'foreign.csv: 150 of its 250 latency lines name an arch_idx a100.csv does not have (a100.csv: 100 architectures), such as foreign.csv:102: "100"; foreign.csv:103: "101"; foreign.csv:104: "102"; are the files from two benchmarks'],
  ])('throws on %s, naming the file', (_what, call, message) => {
    expect(call).toThrow(message);
  });

  it('names a quote left open in either file, with the real line numbers after a multi-line cell (a trial: the rest of the file vanished)', () => {
    const archs = { file: 'a.csv', text: 'arch_idx,e_1_0,note\n0,none,"two\nlines"\n1,skip,ok\nx,conv,bad\n2,"conv,open\n3,none,lost\n' };
    const lat = { file: 'l.csv', text: 'arch_idx,dev\n0,1.5\n1,"2.5\n' };
    const h = parseHelp(archs, [lat]);
    expect(h.archIds).toEqual([0, 1]);
    expect(h.problems.map((p) => [p.file, p.line, p.field, p.message])).toEqual([
      ['a.csv', 5, 'arch_idx', 'not a non-negative integer'],
      ['a.csv', 6, '(row)', 'a quoted field opened on line 6 is never closed: lines 6–7 (the rest of the file) are not read'],
      ['l.csv', 3, '(row)', 'a quoted field opened on line 3 is never closed: lines 3–3 (the rest of the file) are not read'],
    ]);
    expect(() => parseHelp({ file: 'h.csv', text: 'arch_idx,"e_1_0\n0,none\n' }, [])).toThrow('h.csv: a quoted field opened on line 1 is never closed: lines 1–2 (the rest of the file) are not read: the header is among them');
    // Open on the first row: said so, not "no architectures" or "latencies for only 0 of ..." (a trial).
    expect(() => parseHelp({ file: 'a.csv', text: 'arch_idx,e_1_0\n0,"none\n1,skip\n' }, [])).toThrow('a.csv: a quoted field opened on line 2 is never closed: lines 2–3 (the rest of the file) are not read: no row is left to read');
    expect(() => parseHelp(archs, [{ file: 'l.csv', text: 'arch_idx,dev\n"0,1.5\n1,2\n' }])).toThrow('l.csv: a quoted field opened on line 2 is never closed: lines 2–3 (the rest of the file) are not read: no row is left to read');
  });

  it('names a quote left open in a latency file when it hid most latencies, not "files of two benchmarks" (a trial)', () => {
    const archs = { file: 'a.csv', text: 'arch_idx,e_1_0\n0,none\n1,skip\n2,conv\n3,none\n' };
    expect(() => parseHelp(archs, [{ file: 'l.csv', text: 'arch_idx,dev\n0,1.5\n"1,2\n2,3\n3,4\n' }]))
      .toThrow('l.csv: latencies for only 1 of the 4 architectures in a.csv; l.csv: a quoted field opened on line 3 is never closed: lines 3–5 (the rest of the file) are not read');
  });

  it('names the bad cells when rows cover the architectures but their cells are not latencies, not "files of two benchmarks" (a trial: a file in ns)', () => {
    const archs = { file: 'a.csv', text: 'arch_idx,e_1_0\n0,none\n1,skip\n2,conv\n3,none\n4,skip\n' };
    expect(() => parseHelp(archs, [{ file: 'ns.csv', text: 'arch_idx,dev_g\n0,15000000000\n1,-3\n2,0\n3,\n4,2.5\n0,2.0\n' }]))
      .toThrow('ns.csv: latencies for only 1 of the 5 architectures in a.csv; the files have rows for 5 of them, but 4 cell(s) are not latencies in ms, such as '
        + 'ns.csv:2: dev_g = "15000000000": latency 15000000000 ms is above 1 hour (3600000 ms) for one inference: a figure in µs or ns instead of ms, or a damaged value?; '
        + 'ns.csv:3: dev_g = "-3": latency must be a positive number of ms; ns.csv:4: dev_g = "0": latency must be a positive number of ms');
    // The error carries every bad cell, which the CLI lists (a trial: 6 bad cells, 3 named).
    const refusal = (() => { try { parseHelp(archs, [{ file: 'ns.csv', text: 'arch_idx,dev_g\n0,15000000000\n1,-3\n2,0\n3,\n4,2.5\n0,2.0\n' }]); } catch (e) { return e; } })();
    expect(refusal).toBeInstanceOf(HelpCoverageError);
    expect((refusal as HelpCoverageError).problems.map((p) => [p.line, p.value])).toEqual([[2, '15000000000'], [3, '-3'], [4, '0'], [5, '']]);
    expect(() => parseHelp(archs, [{ file: 'dup.csv', text: 'arch_idx,dev_a,dev_a\n0,1,2\n' }])).toThrow('dup.csv: device "dev_a" is a column of its header twice (columns 2 and 3)');
    // Most lines' arch_idx not in the architectures: named, and carried for the CLI to list (a trial: `z3` on most lines, none named).
    const damaged = (() => { try { parseHelp(archs, [{ file: 'ids.csv', text: 'arch_idx,dev_g\nz0,1\n1,2\nz2,3\n7,4\nz4,5\n' }]); } catch (e) { return e; } })();
    expect(damaged).toBeInstanceOf(HelpCoverageError);
    expect((damaged as Error).message).toBe('ids.csv: latencies for only 1 of the 5 architectures in a.csv; 4 line(s) name an arch_idx a.csv does not have, such as ids.csv:2: "z0"; ids.csv:4: "z2"; ids.csv:5: "7"; '
      + 'are the files from two benchmarks (one benchmark\'s architectures.csv with another\'s latency files)? Every latency file of a HELP benchmark covers its architectures');
    expect((damaged as HelpCoverageError).problems.map((p) => [p.line, p.value])).toEqual([[2, 'z0'], [4, 'z2'], [5, '7'], [6, 'z4']]);
    // A blank column name (a trailing comma): refused, not stored as device "" (a trial: exit 0, 5 rows under "").
    expect(() => parseHelp(archs, [{ file: 'blank.csv', text: 'arch_idx,dev_a,\n0,1,2\n' }])).toThrow('blank.csv: column 3 of its header has no device name (a trailing comma?); name every latency column');
    // A device name is an id (a trial: names with a bell, a right-to-left override, 5,000 characters were stored);
    // blanks around it are dropped (`arch_idx, dev_a`), not stored.
    expect(() => parseHelp(archs, [{ file: 'bidi.csv', text: 'arch_idx,dev\u202etxt\n0,1\n' }])).toThrow('bidi.csv: device of column 2: expected an id without bidirectional or line-separator marks, got U+202E in ');
    expect(() => parseHelp(archs, [{ file: 'bell.csv', text: 'arch_idx,dev_a,dev\u0007b\n0,1,2\n' }])).toThrow('bell.csv: device of column 3: expected an id without control characters, got "dev\\u0007b"');
    expect(() => parseHelp(archs, [{ file: 'long.csv', text: `arch_idx,${'d'.repeat(5000)}\n0,1\n` }])).toThrow('long.csv: device of column 2: expected an id of at most 256 characters, got 5000');
    expect(parseHelp(archs, [{ file: 'sp.csv', text: 'arch_idx, dev_a ,dev_b\n0,1,2\n1,1,2\n2,1,2\n3,1,2\n4,1,2\n' }]).devices).toEqual(['dev_a', 'dev_b']);
  });

  it('refuses a file that is not valid UTF-8, naming the line (a trial: a Latin-1 device name was stored as d\uFFFDv)', () => {
    const latin1 = Buffer.concat([Buffer.from('arch_idx,d'), Buffer.from([0xe9]), Buffer.from('v\n0,1.5\n')]).toString('utf8');
    expect(() => parseHelp({ file: 'a.csv', text: 'arch_idx,e_1_0\n0,none\n' }, [{ file: 'l.csv', text: latin1 }])).toThrow('l.csv: line 1 is not valid UTF-8 (save the file as UTF-8)');
  });

  it('accepts a UTF-8 byte-order mark before the arch_idx header', () => {
    const bom = parseHelp({ file: 'bom.csv', text: '\uFEFFarch_idx,e_1_0\n0,none\n1,skip_connect\n' }, [{ file: 'l.csv', text: '\uFEFFarch_idx,dev\n1,2.5\n' }]);
    expect([bom.archIds, Array.from(bom.latency.get('dev')!), bom.problems]).toEqual([[0, 1], [NaN, 2.5], []]);
  });
});

describe('helpBatchOf', () => {
  // HELP's README: for <gpu>_<N>, N is the batch size; the shipped NB201 GPU and CPU headers.
  const gpu = ['1080ti_1', '1080ti_32', '1080ti_256', '2080ti_1', '2080ti_32', '2080ti_256', 'titanx_1', 'titanx_32', 'titanx_256'];
  const cpu = ['gold_6226', 'gold_6240', 'silver_4114', 'silver_4210r'];
  it('reads N of <gpu>_<N> when <gpu>_1 is measured too, and keeps CPU model numbers at batch 1', () => {
    const all = [...gpu, ...cpu, 'raspi4', 'pixel3'];
    expect(all.map((d) => helpBatchOf(d, all))).toEqual([1, 32, 256, 1, 32, 256, 1, 32, 256, 1, 1, 1, 1, 1, 1]);
    expect(helpBatchOf('1080ti_64', ['1080ti_64'])).toBe(1); // no batch-1 sibling: a name, not a batch
  });
});

describe('C1: 80/20 split of the subset, seed 1', () => {
  const d = subset;
  let report: EvaluationReport;
  beforeAll(() => {
    report = c1Report();
  });

  it('scores every device on the same 600 test architectures, fractions in 0..1', () => {
    expect(report.mode).toBe('split');
    expect(report.seed).toBe(1);
    expect(report.devices.map((r) => [r.device, r.n_test])).toEqual(DEVICES.map((dev) => [dev, 600]));
    for (const r of report.devices) {
      for (const v of [r.acc10, r.mape, r.baseline.acc10, r.baseline.mape]) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of [r.acc10, r.baseline.acc10]) expect(v).toBeLessThanOrEqual(1);
      for (const v of [r.spearman, r.baseline.spearman]) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    }
  });

  it('on every device: acc10 ≥ baseline acc10 − 0.005', () => {
    for (const r of report.devices) expect(r.acc10, r.device).toBeGreaterThanOrEqual(r.baseline.acc10 - 0.005);
  });

  it('mean acc10 over devices is above the baseline mean, and median acc10 ≥ 0.95', () => {
    const acc = report.devices.map((r) => r.acc10);
    const base = report.devices.map((r) => r.baseline.acc10);
    expect(mean(acc)).toBeGreaterThan(mean(base));
    expect(medianOf(acc)).toBeGreaterThanOrEqual(0.95);
    // The summary fields say the same.
    expect(report.mean_acc10).toBeCloseTo(mean(acc), 12);
    expect(report.baseline_mean_acc10).toBeCloseTo(mean(base), 12);
    expect(report.median_acc10).toBe(medianOf(acc));
    expect(report.min_acc10_gain).toBeCloseTo(Math.min(...acc.map((a, i) => a - base[i]!)), 12);
  });

  it('its baseline is the least-squares fit on the one-hot ops in log space (refitted here by Cholesky)', () => {
    const order = shuffledOrder(N_ARCH, 1, 'help-split');
    const test = order.slice(0, 600);
    const train = order.slice(600);
    const oneHot = oneHotColumns(d);
    // Treatment coding: intercept + 4 indicators per edge (first op dropped) spans the same space as the 30 one-hot columns.
    const design = (i: number): number[] => [1, ...EDGES.flatMap((_, e) => [1, 2, 3, 4].map((k) => d.X[i]![5 * e + k]!))];
    const Z = train.map(design);
    const p = Z[0]!.length;
    const ZtZ = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => Z.reduce((s, z) => s + z[a]! * z[b]!, 0)));
    const byName = byDevice(report);
    for (const device of DEVICES) {
      const y = d.latency.get(device)!;
      const ylog = train.map((i) => Math.log(y[i]!));
      const beta = cholesky(ZtZ, Array.from({ length: p }, (_, a) => Z.reduce((s, z, r) => s + z[a]! * ylog[r]!, 0)));
      const fit = (i: number): number => design(i).reduce((s, z, a) => s + z * beta[a]!, 0);
      // Normal equations: the training residuals are orthogonal to the intercept and to every one-hot column.
      const resid = train.map((i, r) => ylog[r]! - fit(i));
      expect(Math.abs(resid.reduce((s, v) => s + v, 0)), device).toBeLessThan(1e-8);
      for (const j of oneHot) expect(Math.abs(train.reduce((s, i, r) => s + resid[r]! * d.X[i]![j]!, 0)), `${device} ${d.features[j]!.name}`).toBeLessThan(1e-8);
      const pred = test.map((i) => Math.exp(fit(i)));
      const truth = test.map((i) => y[i]!);
      const got = byName.get(device)!.baseline;
      expect(got.acc10, device).toBe(acc10(pred, truth));
      expect(got.mape, device).toBeCloseTo(mean(pred.map((v, k) => Math.abs(v - truth[k]!) / truth[k]!)), 10);
    }
  });
});

describe('C2: few-shot on the subset, k = 20, seed 1 (each device held out in turn)', () => {
  const d = subset;
  const report = evaluateFewShot(d, { seed: 1, shots: 20 });
  const gain = report.devices.map((r) => r.acc10 - r.baseline.acc10);

  it('holds out every device and scores its other 2,980 architectures', () => {
    expect(report.mode).toBe('few-shot');
    expect(report.shots).toBe(20);
    expect(report.devices.map((r) => [r.device, r.n_test])).toEqual(DEVICES.map((dev) => [dev, N_ARCH - 20]));
  });

  it('names --shots when it leaves no device 2 rows to score (a trial read "no device had enough measured rows")', () => {
    // The first 100 architectures of the subset: the largest --shots fits a model on all but 2 of them (on all
    // 3,000 that one fit took 27 s of the suite).
    const first = (t: NamedText, lines: number): NamedText => ({ file: t.file, text: t.text.split('\n').slice(0, lines).join('\n') });
    const small = parseHelp(first(read(`${SUBSET}architectures.csv`), 101), LATENCY_FILES.map((f) => first(read(SUBSET + f), 101)));
    expect([small.archIds.length, small.problems]).toEqual([100, []]);
    expect(() => evaluateFewShot(small, { seed: 1, shots: 999_999 }))
      .toThrow(new RangeError('--shots 999999: no device has that many measured architectures and 2 more to score (at most 100 on a device, measured on every other device too): use --shots 98 or fewer'));
    expect(evaluateFewShot(small, { seed: 1, shots: 98, devices: [DEVICES[0]!] }).devices.map((r) => r.n_test)).toEqual([2]);
    expect(() => evaluateFewShot(small, { seed: 1, shots: 99, devices: [DEVICES[0]!] })).toThrow(/--shots 99: /);
  });

  it('a device measured on a subset is no known device of the others, and does not shrink their test sets', () => {
    // A trial: a new device with a third of its cells blank cut raspi4's test set from 4,980 architectures to 3,313.
    const partial = new Float64Array(d.archIds.length).map((_, i) => (i % 3 === 0 ? Number.NaN : 1 + (i % 17)));
    const withPartial: HelpDataset = { ...d, devices: [...d.devices, 'partial_dev'], latency: new Map([...d.latency, ['partial_dev', partial]]) };
    const r = evaluateFewShot(withPartial, { seed: 1, shots: 20, devices: ['raspi4', 'partial_dev'] });
    expect(r.devices.map((x) => [x.device, x.n_test])).toEqual([['raspi4', N_ARCH - 20], ['partial_dev', N_ARCH - N_ARCH / 3 - 20]]);
    // raspi4 is predicted from the same known devices as without the partial one: the same scores.
    const alone = evaluateFewShot(d, { seed: 1, shots: 20, devices: ['raspi4'] });
    expect(r.devices[0]).toEqual(alone.devices[0]);
  });

  it('median over devices of (acc10 − baseline acc10) ≥ 0', () => {
    expect(medianOf(gain)).toBeGreaterThanOrEqual(0);
    expect(report.median_acc10_gain).toBeCloseTo(medianOf(gain), 12);
  });

  it('median Spearman ≥ 0.95', () => {
    expect(medianOf(report.devices.map((r) => r.spearman))).toBeGreaterThanOrEqual(0.95);
    expect(report.median_spearman).toBe(medianOf(report.devices.map((r) => r.spearman)));
  });

  it('no device is worse than its baseline by more than 0.05 in acc10', () => {
    report.devices.forEach((r, k) => expect(gain[k], r.device).toBeGreaterThanOrEqual(-0.05));
  });

  it('its baseline regresses on the known device best correlated over the shots it kept (recomputed here)', () => {
    // With every other device known, each shot is explained by one of them: none set aside.
    expect(report.devices.filter((r) => (r.shots_set_aside ?? []).length > 0).map((r) => r.device)).toEqual([]);
    for (const r of report.devices) {
      const target = d.latency.get(r.device)!;
      const order = shuffledOrder(N_ARCH, 1, `shots:${r.device}`);
      // The shots the fit kept: those it set aside are named by architecture id (screenShots, tested below).
      const shots = order.slice(0, 20).filter((i) => !(r.shots_set_aside ?? []).includes(d.archIds[i]!));
      const test = order.slice(20);
      const yShot = shots.map((i) => Math.log(target[i]!));
      const others = DEVICES.filter((o) => o !== r.device);
      const corr = others.map((o) => pearsonHere(shots.map((i) => Math.log(d.latency.get(o)![i]!)), yShot));
      const best = others[corr.indexOf(Math.max(...corr))]!;
      expect(r.nearest_device, r.device).toBe(best);
      // The line in closed form: slope = cov / var over the shots.
      const x = shots.map((i) => Math.log(d.latency.get(best)![i]!));
      const mx = mean(x);
      const my = mean(yShot);
      const slope = x.reduce((s, v, k) => s + (v - mx) * (yShot[k]! - my), 0) / x.reduce((s, v) => s + (v - mx) ** 2, 0);
      const pred = test.map((i) => Math.exp(my + slope * (Math.log(d.latency.get(best)![i]!) - mx)));
      expect(r.baseline.acc10, r.device).toBe(acc10(pred, test.map((i) => target[i]!)));
    }
  });
});

describe('determinism', () => {
  const d = subset;

  it('split: the same seed gives the identical report, and a device alone gets its result among all devices', () => {
    // silver_4114: the quickest device to train (early stopping).
    const a = evaluateSplit(d, { seed: 1, devices: ['silver_4114'] });
    expect(evaluateSplit(d, { seed: 1, devices: ['silver_4114'] })).toEqual(a);
    expect(a.devices).toEqual([byDevice(c1Report()).get('silver_4114')]);
  });

  it('split: another seed draws another split, so the scores differ', () => {
    expect(shuffledOrder(N_ARCH, 2, 'help-split').slice(0, 600)).not.toEqual(shuffledOrder(N_ARCH, 1, 'help-split').slice(0, 600));
    const a = byDevice(c1Report()).get('silver_4114')!;
    const [b] = evaluateSplit(d, { seed: 2, devices: ['silver_4114'] }).devices;
    expect(b!.n_test).toBe(600);
    expect([b!.acc10, b!.mape, b!.spearman, b!.baseline.mape]).not.toEqual([a.acc10, a.mape, a.spearman, a.baseline.mape]);
  });

  it('few-shot: the same seed gives the identical report; another seed draws other shots', () => {
    const f = evaluateFewShot(d, { seed: 1, shots: 20 });
    expect(evaluateFewShot(d, { seed: 1, shots: 20 })).toEqual(f);
    expect(evaluateFewShot(d, { seed: 1, shots: 20, devices: ['raspi4'] }).devices).toEqual([byDevice(f).get('raspi4')]);
    const g = evaluateFewShot(d, { seed: 2, shots: 20 });
    expect(g.devices.map((r) => r.mape)).not.toEqual(f.devices.map((r) => r.mape));
  });
});

describe('few-shot: a shot no known device explains is set aside (a trial: raspi4 from the four Xeons with a 0.0117 ms shot came out at 0.56× the truth)', () => {
  // Known devices: ln latency columns over 40 rows; the new device is 0.8 × device 0 + 1 (closed form), plus ±0.02.
  const n = 40;
  const col = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const known = { names: ['a', 'b', 'c'], columns: [col((i) => 1 + 0.05 * i), col((i) => 2 + 0.03 * i + 0.2 * Math.sin(i)), col((i) => 0.5 + 0.07 * ((i * 7) % 40) / 7)] };
  const truth = (i: number) => 1 + 0.8 * known.columns[0]![i]! + 0.02 * Math.cos(3 * i);
  const shots = Array.from({ length: 20 }, (_, j) => 2 * j);

  it('sets aside a shot 7 ln-units off the line, and fits as though it had never been measured', () => {
    const log = shots.map(truth);
    log[5] = Math.log(0.0117);
    expect(screenShots(known, shots, log)).toEqual([5]);
    const fit = fitFewShot(known, shots, log);
    const clean = fitFewShot(known, shots.filter((_, j) => j !== 5), log.filter((_, j) => j !== 5));
    expect(fit.setAside).toEqual([5]);
    for (const i of [1, 13, 39]) expect(fit.predictLog(i)).toBe(clean.predictLog(i));
    // The closed form it recovers: within 0.05 ln-units of 1 + 0.8·x at rows never shot.
    for (const i of [1, 13, 39]) expect(Math.abs(fit.predictLog(i) - truth(i))).toBeLessThan(0.05);
  });

  it('keeps such a shot where a known device times it alike (a re-test: raspi4\'s 0.0117 ms shot, set aside though pixel3 takes 0.0043 ms there, cost 0.21 of acc10)', () => {
    const log = shots.map(truth);
    log[5] = Math.log(0.0117);
    // A fourth device 2.7x slower than the new one everywhere, 0.0043 ms at the shot's row too (its ratio line explains it).
    const alike = Float64Array.from({ length: n }, (_, i) => (i === shots[5] ? Math.log(0.0043) : truth(i) - 1));
    const withAlike = { names: [...known.names, 'alike'], columns: [...known.columns, alike] };
    expect(screenShots(withAlike, shots, log)).toEqual([]);
    expect(screenShots(known, shots, log)).toEqual([5]);
  });

  it('sets nothing aside when the shots agree, when the largest residual is within a factor of 4, or when more than a quarter would go', () => {
    expect(screenShots(known, shots, shots.map(truth))).toEqual([]);
    expect(screenShots(known, shots, shots.map((i, j) => truth(i) + (j === 5 ? Math.log(3.9) : 0)))).toEqual([]);
    // Six of twenty off: the shots disagree, not one of them.
    expect(screenShots(known, shots, shots.map((i, j) => truth(i) + (j % 3 === 0 && j < 18 ? 3 : 0)))).toEqual([]);
    expect(fitFewShot(known, shots, shots.map(truth)).setAside).toEqual([]);
  });
});
