/**
 * SingleStream p50 and p90 per MLPerf run, as `data/mlperf-singlestream/base-latency.csv` holds them (columns model,
 * chip, mlperf_version, division, submitter, system_id, p50_ms, p90_ms; others are read past): the benchmark priors
 * the telemetry latency model needs (services/model/telemetry.ts `loadPriors`). The demo imports that file; `edgelat
 * import benchmark --format singlestream --runs FILE` imports it (or a file of the same columns) into a warehouse of
 * one's own, where the MLPerf import (p90 only) gives no prior (a trial: retraining on the Kafka and ClickHouse
 * path could never start).
 */
import { assertColumnsOnce, assertCsvText, moreCellsHint, parseCsvLines, unclosedQuoteMessage } from '../simulator/csv.ts';
import { idProblem } from '../names.ts';
import { normaliseChip, placeholderName } from './chips.ts';
import { latencyRangeProblem, quoteValue, type ImportProblem, type NamedText } from './help.ts';
import { highAccuracyTarget, mlperfModelId, mlperfRound, positiveMs, systemKey } from './import-mlperf.ts';

/** A chip cell that is already an id (lower case, digits, `-`, `.`, `+`): kept; any other name is normalised. */
const CHIP_ID = /^[a-z0-9][a-z0-9.+-]*$/;

/** Columns a SingleStream file must have. */
export const SINGLESTREAM_COLUMNS = ['model', 'chip', 'mlperf_version', 'division', 'submitter', 'system_id', 'p50_ms', 'p90_ms'] as const;

/** One `benchmark_latency` row of a SingleStream file (its source is the caller's). */
export interface SingleStreamRow {
  model_id: string;
  device: string;
  chip: string;
  batch: 1;
  scenario: 'SingleStream';
  percentile: 0.5 | 0.9;
  latency_ms: number;
  system: string;
}


/**
 * Parse SingleStream files: two rows per run (percentiles 0.5 and 0.9), system
 * `<mlperf_version>/<division>/<submitter>/<system_id>` as the MLPerf import keys it, device `<system>/<chip>`; the
 * model id lower-cased as the MLPerf import's (`-99.9` read as `-99`), a chip that is not an id already normalised
 * (chips.ts `normaliseChip`: `Jetson AGX Orin` is `jetson-agx-orin`).
 * @param files  The files, e.g. `data/mlperf-singlestream/base-latency.csv`.
 * @returns      The rows of the good lines, and one problem per bad line (an empty id, an id over
 *               256 characters or with control, bidirectional or invisible characters (names.ts `idProblem`), a latency that is not a number > 0 ms
 *               or outside 1 µs–1 h, p50 above p90, a line with fewer or more cells than the header, a quote never
 *               closed, a second run of a device and model with other latencies); `skipped`: runs not imported, by
 *               reason (a repeat of an imported run, another accuracy target of its model), as the MLPerf import's.
 * @throws {RangeError} naming the file when it is empty, not UTF-8 text, or its header lacks a column of
 *   {@link SINGLESTREAM_COLUMNS} or names one twice.
 */
export function parseSingleStream(files: readonly NamedText[]): { rows: SingleStreamRow[]; problems: ImportProblem[]; skipped: { reason: string; count: number }[] } {
  const rows: SingleStreamRow[] = [];
  const problems: ImportProblem[] = [];
  const skipped = new Map<string, number>();
  /** The first run read per device and model id: its model name as written, latencies, and where. */
  const seen = new Map<string, { model: string; p50: number; p90: number; file: string; line: number }>();
  for (const f of files) {
    assertCsvText(f.file, f.text);
    // A byte-order mark alone is an empty file too (a trial: "the header has no model, chip, … columns").
    const records = parseCsvLines(f.text.replace(/^\uFEFF/, '')).filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === ''));
    if (records.length === 0) throw new RangeError(`${f.file}: empty file (expected a header with ${SINGLESTREAM_COLUMNS.join(', ')})`);
    const header = records[0]!.cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
    const missing = SINGLESTREAM_COLUMNS.filter((c) => !header.includes(c));
    if (missing.length > 0) throw new RangeError(`${f.file}: the header has no ${missing.join(', ')} column${missing.length === 1 ? '' : 's'} (a SingleStream file has ${SINGLESTREAM_COLUMNS.join(', ')})`);
    // A column named twice, read or not: which of the two is the run's? (chips import and the MLPerf import refuse any the
    // same way; a trial's source_file twice had passed, README saying any is refused.)
    assertColumnsOnce(f.file, header);
    const at = Object.fromEntries(SINGLESTREAM_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof SINGLESTREAM_COLUMNS)[number], number>;
    for (const r of records.slice(1)) {
      const bad = (field: string, value: string, message: string): void => {
        problems.push({ file: f.file, line: r.line, field, value, message });
      };
      if (r.unclosed) { bad('(row)', r.cells.join(',').slice(0, 200), unclosedQuoteMessage(r)); continue; }
      // More cells than the header: a number written with a thousands separator (`1,234`) is two cells, and the run's
      // p50 and p90 would be read from the wrong ones (a trial: p50 1, p90 234 imported without a word).
      if (r.cells.length !== header.length) {
        bad('(row)', r.cells.join(',').slice(0, 200), `expected ${header.length} cells, got ${r.cells.length}${moreCellsHint(header.length, r.cells.length)}`);
        continue;
      }
      const cell = (c: (typeof SINGLESTREAM_COLUMNS)[number]): string => r.cells[at[c]]!.trim();
      // The ids' one rule (names.ts idProblem: not empty, at most 256 characters, no control, bidirectional or invisible ones).
      // Every bad field of the line is named, as `chips import` and the HELP import name them (a re-test: p50_ms and
      // p90_ms both bad counted as one problem).
      const before = problems.length;
      for (const [c, problem] of SINGLESTREAM_COLUMNS.slice(0, 6).map((c) => [c, idProblem(c, cell(c))] as const)) {
        if (problem !== null) bad(c, cell(c), problem.slice(c.length + 2));
      }
      // The round and the chip as the MLPerf import reads them (a re-test: round `v1.1-final` escaped the workload rule,
      // and chips `-`, `N/A`, `TBD` were ranked by recommend).
      if (idProblem('mlperf_version', cell('mlperf_version')) === null && mlperfRound(cell('mlperf_version')) === null) bad('mlperf_version', cell('mlperf_version'), `expected a round as vX.Y or X.Y (v4.1, 3.0), got ${quoteValue(cell('mlperf_version'))}`);
      if (idProblem('chip', cell('chip')) === null && placeholderName(cell('chip'))) bad('chip', cell('chip'), `expected a chip name, got the placeholder ${quoteValue(cell('chip'))}`);
      const ms: Partial<Record<'p50_ms' | 'p90_ms', number>> = {};
      for (const c of ['p50_ms', 'p90_ms'] as const) {
        const v = cell(c);
        if (!positiveMs(v)) { bad(c, v, `latency must be a number > 0 ms, got ${quoteValue(v)}`); continue; }
        const outside = latencyRangeProblem(Number(v));
        if (outside !== null) { bad(c, v, outside); continue; }
        ms[c] = Number(v);
      }
      if (problems.length > before || ms.p50_ms === undefined || ms.p90_ms === undefined) continue;
      if (ms.p50_ms > ms.p90_ms) { bad('p50_ms', cell('p50_ms'), `p50 ${cell('p50_ms')} ms is above p90 ${cell('p90_ms')} ms: a median cannot exceed the 90th percentile (columns swapped?)`); continue; }
      const system = systemKey({ mlperf_version: cell('mlperf_version'), division: cell('division'), submitter: cell('submitter'), system_id: cell('system_id') });
      // Ids as the telemetry and the MLPerf import spell them (a re-test: "ResNet50" on "Jetson AGX Orin" matched no
      // request of resnet50 on jetson-agx-orin, and model train found no training rows).
      const chip = CHIP_ID.test(cell('chip')) ? cell('chip') : normaliseChip(cell('chip')).chip;
      const model = mlperfModelId(cell('model'));
      // One run per device and model, the first kept, as the MLPerf import keeps them: a repeat is counted as skipped,
      // another accuracy target (-99.9 beside -99) too, and a second run with other latencies is a bad line (a trial:
      // the last of two silently replaced the first, and both were counted as imported).
      const key = `${system}/${chip}\u0000${model}`;
      const first = seen.get(key);
      if (first !== undefined) {
        // Another accuracy target only when the names say so: "ResNet50" beside "resnet50" (or a first round's short
        // name) is the same model (a re-test: such a conflicting run was skipped as another accuracy target).
        if (highAccuracyTarget(first.model) !== highAccuracyTarget(cell('model'))) {
          const reason = 'another accuracy target (-99 / -99.9) of a model already imported for this system and chip';
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        } else if (first.p50 === ms.p50_ms && first.p90 === ms.p90_ms) {
          const reason = 'a repeat of a run already imported for this system and chip (same model, same latencies)';
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        } else {
          bad('(row)', r.cells.join(',').slice(0, 200), `a second run of ${model} on ${system}/${chip} with p50 ${ms.p50_ms} ms, p90 ${ms.p90_ms} ms; ${first.file} line ${first.line} has p50 ${first.p50} ms, p90 ${first.p90} ms (that one is imported)`);
        }
        continue;
      }
      seen.set(key, { model: cell('model'), p50: ms.p50_ms, p90: ms.p90_ms, file: f.file, line: r.line });
      // The device names the chip too: one system measured on two of its chips (CPU and NPU) is two rows, not one row
      // the table's key (it has no chip) keeps of the two (a re-test: 4 latencies reported, 2 stored).
      for (const [percentile, latency] of [[0.5, ms.p50_ms], [0.9, ms.p90_ms]] as const) {
        rows.push({ model_id: model, device: `${system}/${chip}`, chip, batch: 1, scenario: 'SingleStream', percentile, latency_ms: latency, system });
      }
    }
  }
  return { rows, problems, skipped: [...skipped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, count]) => ({ reason, count })) };
}
