/**
 * The bad lines an import prints on stderr: one line each, with what the file holds escaped for the terminal (a
 * re-test: a model's U+202E reordered the line on screen, a U+2028 broke it).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { badText, newChipWarnings } from '../../../services/cli/benchmark.ts';
import { reportProblems } from '../../../services/cli/import-problems.ts';

describe('reportProblems', () => {
  afterEach(() => vi.restoreAllMocks());

  it('escapes bidirectional marks, line separators and C1 controls in the value and the message', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    reportProblems([
      { file: 'r.csv', line: 2, field: 'model', value: 'res\u202enet50', message: 'expected an id without bidirectional or line-separator marks' },
      { file: 'r.csv', line: 3, field: 'system_id', value: 'a', message: 'no system row for "v1/closed/X/a\u2028b\u0085"' },
    ], 20);
    expect(write.mock.calls.map((c) => String(c[0]))).toEqual([
      'edgelat: r.csv:2: model = "res\\u202enet50": expected an id without bidirectional or line-separator marks\n',
      'edgelat: r.csv:3: system_id = "a": no system row for "v1/closed/X/a\\u2028b\\u0085"\n',
    ]);
  });

  it('says how many more problems (bad fields) and on how many more lines (a trial read "30 more bad lines" of a 25-line file)', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // 25 lines of 2 bad fields each: the first 20 problems are lines 1–10; 30 more on 15 more lines.
    const problems = Array.from({ length: 25 }, (_, i) => [
      { file: 'c.csv', line: i + 1, field: 'peak_ops_per_s', value: 'x', message: 'expected a number' },
      { file: 'c.csv', line: i + 1, field: 'power_w', value: 'y', message: 'expected a number' },
    ]).flat();
    reportProblems(problems, 20, '--json lists every one');
    expect(write.mock.calls.at(-1)?.[0]).toBe('edgelat: ... and 30 more problems on 15 more lines (--json lists every one)\n');
    // The 21st problem on a line already shown: no more lines.
    write.mockClear();
    reportProblems(problems.slice(0, 21).map((x) => ({ ...x, line: 1 })), 20);
    expect(write.mock.calls.at(-1)?.[0]).toBe('edgelat: ... and 1 more problem\n');
    write.mockClear();
    reportProblems(problems.slice(0, 20), 20);
    expect(write.mock.calls).toHaveLength(20);
  });

  it('counts bad lines, or bad cells on fewer lines, and says a HELP line\'s valid cells are imported (a trial read "7 bad line(s)" and found their cells stored)', () => {
    const p = (line: number, field: string) => ({ file: 'latency_pixel3.csv', line, field, value: 'NaN', message: 'latency must be a positive number of ms' });
    expect(badText([], true)).toBe('0 bad line(s)');
    expect(badText([p(2, 'model'), p(3, 'p90_latency_ms')], false)).toBe('2 bad line(s)');
    expect(badText([p(2, 'pixel3'), p(2, 'raspi4'), p(4, 'pixel3')], true)).toBe('3 bad cell(s) on 2 line(s) (a line\'s valid cells, other devices\' latencies, are imported)');
    // Lines refused whole (a column count, an unknown architecture) keep nothing.
    expect(badText([p(2, '(row)'), p(3, 'arch_idx')], true)).toBe('2 bad line(s)');
    // The same line number in two files is two lines.
    expect(badText([p(2, 'pixel3'), { ...p(2, 'pixel3'), file: 'latency_raspi4.csv' }], false)).toBe('2 bad line(s)');
  });
});

describe('newChipWarnings (SingleStream import)', () => {
  it('warns of a new chip named like a known one, once, with its models; a chip like none, or known, passes', () => {
    // A trial: "rpi4-cortex-a27" (a72 mistyped) became a chip of its own that recommend ranked first.
    const known = ['jetson-agx-orin', 'odroid-n2plus-s922x', 'rpi4-cortex-a72'];
    const rows = [
      { chip: 'rpi4-cortex-a27', model_id: 'resnet50' }, { chip: 'rpi4-cortex-a27', model_id: 'bert-99' }, { chip: 'rpi4-cortex-a27', model_id: 'resnet50' },
      { chip: 'hailo-8l-m2', model_id: 'resnet50' }, { chip: 'jetson-agx-orin', model_id: 'resnet50' },
    ];
    expect(newChipWarnings(rows, known)).toEqual([
      'chip "rpi4-cortex-a27" (2 model(s)) is new to this warehouse and like the known "rpi4-cortex-a72": imported as a chip of its own; if it is a typo, fix the file and import it again (rows of a chip stay until replaced: `edgelat sql --write` deletes them)',
    ]);
    expect(newChipWarnings(rows, [])).toEqual([]);
    // A new board near a known one is no typo (a trial: jetson-orin-nx, 5 edits from jetson-xavier-nx, was warned of); two new
    // chips alike in one import are (a trial: nvidia-t4 and nvidia-t-4 passed without a word), as are separators and case.
    const fresh = [{ chip: 'jetson-orin-nx', model_id: 'resnet50' }, { chip: 'nvidia-t4', model_id: 'resnet50' }, { chip: 'nvidia-t-4', model_id: 'bert-99' }, { chip: 'Jetson_AGX_Orin', model_id: 'resnet50' }];
    expect(newChipWarnings(fresh, ['jetson-xavier-nx', 'jetson-agx-orin'])).toEqual([
      'chip "nvidia-t-4" (1 model(s)) is new to this warehouse and like "nvidia-t4", new in this import too: imported as a chip of its own; if it is a typo, fix the file and import it again (rows of a chip stay until replaced: `edgelat sql --write` deletes them)',
      'chip "Jetson_AGX_Orin" (1 model(s)) is new to this warehouse and like the known "jetson-agx-orin": imported as a chip of its own; if it is a typo, fix the file and import it again (rows of a chip stay until replaced: `edgelat sql --write` deletes them)',
    ]);
  });
});
