import { createHash } from 'node:crypto';
/**
 * MLPerf import: hand-written fixtures (test/fixtures/mlperf/) with bad lines
 * at known line numbers, chip normalisation over spellings found in the real
 * systems files, and the real copied data (data/mlperf-inference/), counted
 * independently with a plain split so that no run is lost.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../services/simulator/csv.ts';
import { normaliseChip, slugChip, systemDeviceName } from '../../../services/model/chips.ts';
import { quoteValue } from '../../../services/model/help.ts';
import { mlperfModelId, mlperfRound, mlperfScenario, parseMlperf, type NamedCsv } from '../../../services/model/import-mlperf.ts';
import { validChips } from '../../../services/predictor/chip-catalog.ts';

const FIXTURES = new URL('../../fixtures/mlperf/', import.meta.url);
const DATA = new URL('../../../data/mlperf-inference/', import.meta.url);
const read = (dir: URL, file: string): NamedCsv => ({ file, text: fs.readFileSync(new URL(file, dir), 'utf8') });

describe('parseMlperf on fixtures', () => {
  const runs = read(FIXTURES, 'runs_fixture.csv');
  const systems = read(FIXTURES, 'systems_fixture.csv');
  const r = parseMlperf([runs], [systems]);

  it('reports every bad line with its file, 1-based line (header = 1) and field', () => {
    const got = r.problems.map((p) => [p.file, p.line, p.field, p.value]);
    expect(got).toEqual([
      // systems: line 4-5 is one record (quoted line break), so later lines keep their physical numbers
      ['systems_fixture.csv', 7, 'system_id', 'Orin_TRT'], // duplicate of line 2
      ['systems_fixture.csv', 8, 'columns', '9'],
      ['systems_fixture.csv', 12, 'division', ''],
      ['runs_fixture.csv', 10, 'p90_latency_ms', 'abc'],
      ['runs_fixture.csv', 11, 'p90_latency_ms', '0'],
      ['runs_fixture.csv', 12, 'p90_latency_ms', '-1.5'],
      ['runs_fixture.csv', 13, 'p90_latency_ms', ''],
      ['runs_fixture.csv', 14, 'columns', '8'],
      ['runs_fixture.csv', 15, 'system_id', 'no-such-system'],
      ['runs_fixture.csv', 16, 'system_id', 'Broken_TRT'], // its systems line was bad
      ['runs_fixture.csv', 19, 'scenario', ''],
      ['runs_fixture.csv', 23, 'p90_latency_ms', '0x10'],
    ]);
    expect(r.problems[0]!.message).toContain('first at systems_fixture.csv line 2');
    expect(r.problems[1]!.message).toBe('expected 10 fields, found 9');
    expect(r.problems.find((p) => p.line === 14)!.message).toBe('expected 9 fields, found 8');
    expect(r.problems.find((p) => p.line === 15)!.message).toBe('no system row for "v1.1/closed/Intel/no-such-system"');
  });

  it('counts other scenarios as skipped, not as problems, and accounts for every line read', () => {
    expect(r.runsSkipped).toEqual([
      { reason: 'another accuracy target (-99 / -99.9) of a model already imported for this system', count: 1 },
      { reason: 'scenario=MultiStream', count: 1 },
      { reason: 'scenario=Offline', count: 1 },
      { reason: 'scenario=Server', count: 1 },
    ]);
    const runProblems = r.problems.filter((p) => p.file === 'runs_fixture.csv').length;
    expect(r.runsRead).toBe(21); // 22 data lines, one blank
    expect(r.benchmark.length + runProblems + 4).toBe(r.runsRead);
    expect(r.systems).toBe(7);
  });

  it('builds rows keyed by system, with the accuracy target -99.9 read as -99 and names lower-cased', () => {
    expect(r.benchmark.map((b) => [b.system, b.model_id, b.latency_ms, b.chip])).toEqual([
      ['v2.0/closed/NVIDIA/Orin_TRT', 'resnet50', 0.72, 'jetson-agx-orin'],
      ['v2.0/closed/NVIDIA/Orin_TRT', 'bert-99', 7.79, 'jetson-agx-orin'],
      ['v3.0/closed/NVIDIA/Orin_TRT', '3d-unet-99', 4100.5, 'jetson-agx-orin'],
      ['v2.1/open/Krai/rpi4-tflite-v2.7.1-ruy', 'mobilenet-v2-1.0-224-quantized', 30.87, 'rpi4-cortex-a72'],
      ['v1.1/closed/Intel/1-node-2S-ICX-OpenVINO-INT8', 'resnet50', 1.5, 'intel-xeon-8380'],
      ['v3.0/open/cTuning/aws_graviton_m7g', 'bert-99_obert-large', 120.25, 'aws-graviton'],
      ['v3.0/closed/NVIDIA/A100_SXM4', 'resnet50', 0.6, 'nvidia-a100'],
      ['v3.0/closed/Dell/R750xa_A100_PCIe', 'resnet50', 0.62, 'nvidia-a100'],
    ]);
    for (const b of r.benchmark) {
      expect(b).toMatchObject({ source: 'mlperf', device: b.system, batch: 1, scenario: 'SingleStream', percentile: 0.9 });
    }
  });

  it('lists one chip per id with every raw name mapping to it, specs unknown', () => {
    expect(r.chips.map((c) => [c.chip, c.kind, c.vendor, c.names])).toEqual([
      ['aws-graviton', 'cpu', 'AWS', ['AWS cloud instance m7g.2xlarge (graviton)']], // no device name: system_name used
      ['intel-xeon-8380', 'cpu', 'Intel', ['Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz']],
      ['jetson-agx-orin', 'gpu', 'NVIDIA', ['NVIDIA Jetson AGX Orin', 'NVIDIA Orin']],
      ['nvidia-a100', 'gpu', 'NVIDIA', ['NVIDIA A100 80GB PCIe', 'NVIDIA A100-SXM4-80GB']],
      ['rpi4-cortex-a72', 'cpu', 'Broadcom', ['BCM2835 Arm Cortex-A72 r0p3']],
    ]);
    for (const c of r.chips) expect([c.peak_ops_per_s, c.memory_bw_bytes_s, c.power_w, c.price_per_hour]).toEqual([null, null, null, null]);
  });

  it('gives the same result for CRLF line ends and a byte-order mark', () => {
    const crlf = (f: NamedCsv): NamedCsv => ({ file: f.file, text: `\uFEFF${f.text.replace(/\n/g, '\r\n')}` });
    const again = parseMlperf([crlf(runs)], [crlf(systems)]);
    expect(again.benchmark).toEqual(r.benchmark);
    expect(again.problems.map((p) => [p.file, p.line, p.field])).toEqual(r.problems.map((p) => [p.file, p.line, p.field]));
  });

  it('throws, naming file and column, when a header lacks a required column', () => {
    expect(() => parseMlperf([read(FIXTURES, 'runs_missing_p90.csv')], [systems]))
      .toThrow('runs_missing_p90.csv: header lacks required column "p90_latency_ms"');
    expect(() => parseMlperf([], [{ file: 'systems_x.csv', text: 'mlperf_version,division,submitter,system_id\n' }]))
      .toThrow('systems_x.csv: header lacks required column "compute_device"');
    // A byte-order mark alone, or blank lines, is an empty file (a trial: "header lacks required column").
    expect(() => parseMlperf([], [{ file: 'bom.csv', text: '\uFEFF\n\n' }])).toThrow('bom.csv: empty file (expected a header with mlperf_version, division, submitter, system_id, compute_device)');
  });
});

describe('parseMlperf: spellings of rounds, scenarios, devices and models', () => {
  const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
  const RUNS_HEAD = 'mlperf_version,division,submitter,system_id,model,scenario,p90_latency_ms';

  it('reads a round as vX.Y, from vX.Y, VX.Y or X.Y (a trial: V1.1 was no round, and 3d-unet-99\'s BraTS rows came back; a re-test: runs of 1.1 found no system of v1.1); another text is a bad line', () => {
    const systems = [SYS, 'V1.1,closed,V,a,Box A,-,Intel Xeon Gold 6248,TF,cpu,', 'v4.0-rc,closed,V,b,Box B,-,Intel Xeon Gold 6248,TF,cpu,', '3.0,closed,V,c,Box C,-,Intel Xeon Gold 6248,TF,cpu,'].join('\n');
    const runs = [RUNS_HEAD, 'V1.1,closed,V,a,resnet50,SingleStream,2', '1.1,closed,V,a,bert-99,SingleStream,3', 'v4.0-rc,closed,V,b,resnet50,SingleStream,4', 'v3.0,closed,V,c,resnet50,SingleStream,5'].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.benchmark.map((b) => [b.system, b.model_id, b.latency_ms])).toEqual([['v1.1/closed/V/a', 'resnet50', 2], ['v1.1/closed/V/a', 'bert-99', 3], ['v3.0/closed/V/c', 'resnet50', 5]]);
    expect(r.problems.map((p) => [p.file, p.line, p.field, p.value, p.message])).toEqual([
      ['s.csv', 3, 'mlperf_version', 'v4.0-rc', 'expected a round as vX.Y or X.Y (v4.1, 3.0), got "v4.0-rc"'],
      ['r.csv', 4, 'mlperf_version', 'v4.0-rc', 'expected a round as vX.Y or X.Y (v4.1, 3.0), got "v4.0-rc"'],
    ]);
    expect([mlperfRound(' V2.1 '), mlperfRound('2.1'), mlperfRound('v2'), mlperfRound('2023'), mlperfRound('v2.1.0'), mlperfRound('v1.1-final'), mlperfRound('01.1'), mlperfRound('v1.10')]).toEqual(['v2.1', 'v2.1', null, null, null, null, 'v1.1', 'v1.10']);
  });

  it('reads a scenario without regard to case, blanks, _ or - (a trial: a lowercase file imported nothing and said no more)', () => {
    const systems = [SYS, 'v3.0,closed,V,a,Box A,-,Intel Xeon Gold 6248,TF,cpu,'].join('\n');
    const runs = [RUNS_HEAD, 'v3.0,closed,V,a,resnet50,singlestream,2', 'v3.0,closed,V,a,bert-99,Single Stream,3', 'v3.0,closed,V,a,rnnt,single_stream,4', 'v3.0,closed,V,a,retinanet,multi-stream,5', 'v3.0,closed,V,a,3d-unet-99,Batch,6'].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.benchmark.map((b) => [b.model_id, b.scenario, b.latency_ms])).toEqual([['resnet50', 'SingleStream', 2], ['bert-99', 'SingleStream', 3], ['rnnt', 'SingleStream', 4]]);
    expect(r.runsSkipped).toEqual([{ reason: 'scenario=Batch', count: 1 }, { reason: 'scenario=MultiStream', count: 1 }]);
    expect(mlperfScenario('OFFLINE')).toBe('Offline');
  });

  it('takes a placeholder device cell (-, N/A, none, unknown, ?) as no device, as an empty one (a trial: `-` became chip unknown, N/A chip n-a, both ranked)', () => {
    const rows = ['-', 'N/A', 'n/a', 'None', 'unknown', '?', '\u2014', 'TBD', 'null', '#N/A', 'N.A.', 'N / A', 'N-A', '(none)', 'none.', '<none>', 'Not applicable', 'None (CPU only)', 'N/A (CPU only)', 'TBD (soon)', '\uff2e\uff0f\uff21'].map((d, i) => `v3.0,closed,V,s${i},Box ${i},${i % 2 ? 'N/A' : '-'},Intel Xeon Gold 6248,TF,cpu,${d}`);
    const systems = [SYS, ...rows, 'v3.0,closed,V,t,Box T,-,-,TF,cpu,-', 'v3.0,closed,V,u,Box U,NVIDIA A100-SXM4-80GB,AMD EPYC 7742,TRT,,n/a'].join('\n');
    const runs = [RUNS_HEAD, ...rows.map((_, i) => `v3.0,closed,V,s${i},resnet50,SingleStream,${i + 2}`), 'v3.0,closed,V,t,resnet50,SingleStream,20', 'v3.0,closed,V,u,resnet50,SingleStream,0.5'].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.problems).toEqual([]);
    expect(new Set(r.benchmark.slice(0, rows.length).map((b) => b.chip))).toEqual(new Set([normaliseChip('Intel Xeon Gold 6248', { kind: 'cpu' }).chip]));
    // Every cell a placeholder: the system's name; an accelerator where the device is N/A.
    expect(r.benchmark.slice(rows.length).map((b) => b.chip)).toEqual([normaliseChip('Box T', { kind: 'cpu' }).chip, 'nvidia-a100']);
    expect(r.chips.map((c) => c.chip)).not.toContain('unknown');
    expect(r.chips.map((c) => c.chip)).not.toContain('n-a');
    expect(systemDeviceName({ compute_device: ' - ', accelerator_model_name: 'N/A', host_processor_model_name: 'Apple M1' })).toBe('Apple M1');
    // A name that only begins with such a word is a name.
    expect(['Unknown Accelerator X1', 'N/A-something', 'Nonesuch NPU', 'None-AI', 'None X1 accelerator'].map((n) => systemDeviceName({ compute_device: n }))).toEqual(['Unknown Accelerator X1', 'N/A-something', 'Nonesuch NPU', 'None-AI', 'None X1 accelerator']);
  });

  it('skips the runs of a system whose every device cell is empty or a placeholder, naming it (a re-test: it became chip unknown, ranked)', () => {
    const systems = [SYS, 'v3.0,closed,V,a,,N/A,,TF,,-', 'v3.0,closed,V,b,Box B,-,Intel Xeon Gold 6248,TF,cpu,'].join('\n');
    const runs = [RUNS_HEAD, 'v3.0,closed,V,a,resnet50,SingleStream,2', 'v3.0,closed,V,a,bert-99,SingleStream,3', 'v3.0,closed,V,b,resnet50,SingleStream,4'].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.problems).toEqual([]);
    expect(r.benchmark.map((b) => b.system)).toEqual(['v3.0/closed/V/b']);
    expect(r.runsSkipped).toEqual([{ reason: 'run(s) of system "v3.0/closed/V/a": it names no device (compute_device, accelerator_model_name, host_processor_model_name and system_name are empty or placeholders); its chip cannot be told', count: 2 }]);
    expect(r.chips.map((c) => c.chip)).not.toContain('unknown');
  });
});

describe('parseMlperf: quotes and repeats', () => {
  const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
  const RUNS_HEAD = 'mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid';
  const sys = (id: string, name: string) => `v3.0,closed,V,${id},${name},-,Some CPU,TF,cpu,Some CPU`;
  const run = (id: string, model: string, p90: string) => `v3.0,closed,V,${id},${model},SingleStream,1,${p90},VALID`;

  it('reads a quote inside an unquoted field as a character (12" rack), as Python\'s csv does', () => {
    const systems = [SYS, sys('a', 'Box 12" rack'), sys('b', 'Box B'), sys('c', 'Box 19" rack, 2U'.replace(',', ';'))].join('\n');
    const runs = [RUNS_HEAD, run('a', 'resnet50', '2'), run('b', 'resnet50', '3'), run('c', 'resnet50', '4')].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.problems).toEqual([]);
    expect(r.benchmark.map((b) => [b.system, b.latency_ms])).toEqual([['v3.0/closed/V/a', 2], ['v3.0/closed/V/b', 3], ['v3.0/closed/V/c', 4]]);
    expect(parseCsv('a,12" rack,"x, ""y""",b"c\n')).toEqual([['a', '12" rack', 'x, "y"', 'b"c']]);
  });

  it('names a quoted field that spans lines or never closes, instead of swallowing the file silently', () => {
    const systems = [SYS, sys('a', 'Box A'), sys('b', '"Box B'), sys('c', 'Box C'), sys('d', 'Box D')].join('\n');
    const runs = [RUNS_HEAD, run('a', 'resnet50', '2')].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.problems.map((p) => [p.line, p.field])).toEqual([[3, 'quote']]);
    expect(r.problems[0]!.message).toBe('a quoted field opened on line 3 is never closed: lines 3–5 (the rest of the file) are not read');
    expect(r.benchmark).toHaveLength(1);
    // Closed three lines later: one record of the wrong width, with the lines it took.
    const spans = [SYS, sys('a', '"Box A'), 'v3.0,closed,V,b,Box B,-,Some CPU,TF",cpu,Some CPU', sys('c', 'Box C')].join('\n');
    const again = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: spans }]);
    expect(again.problems.map((p) => [p.line, p.field, p.value])).toEqual([[2, 'columns', '7'], [2, 'system_id', 'a']]);
    expect(again.problems[0]!.message).toBe('expected 10 fields, found 7 (lines 2–3 read as one record: a quoted field opened on line 2 closes on line 3)');
  });

  it('refuses a header naming a column twice, and names that are no ids (a trial: a second "model" column won; "resnet\\u200b50" printed as resnet50)', () => {
    const systems = [SYS, sys('a', 'Box A'), 'v3.0,closed,V,b\u202e,Box B,-,Some CPU,TF,cpu,Some CPU'].join('\n');
    const runs = [RUNS_HEAD, run('a', 'resnet\u200b50', '2'), run('a', 'resnet50', '3')].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.problems.map((p) => [p.file, p.line, p.field, p.message])).toEqual([
      ['s.csv', 3, 'system_id', 'expected an id without bidirectional or line-separator marks, got U+202E in "b\\u202e"'],
      ['r.csv', 2, 'model', 'expected an id without characters that do not show, got U+200B in "resnet\\u200b50"'],
    ]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['resnet50', 3]]);
    expect(() => parseMlperf([{ file: 'r.csv', text: `${RUNS_HEAD},model\n${run('a', 'resnet50', '3')},bert-99` }], [{ file: 's.csv', text: systems }]))
      .toThrow('r.csv: the header names "model" twice; give each column once');
  });

  it('counts a repeated run line as a repeat, and -99 / -99.9 of one model as another accuracy target', () => {
    const systems = [SYS, sys('a', 'Box A')].join('\n');
    const runs = [RUNS_HEAD, run('a', 'bert-99', '2'), run('a', 'bert-99', '2'), run('a', 'bert-99.9', '3'), run('a', 'bert-99', '2'),
      run('a', 'BERT-99', '2'), run('a', 'Bert-99', '4'), run('a', 'resnet', '5'), run('a', 'ResNet50', '10')].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['bert-99', 2], ['resnet50', 5]]);
    expect(r.runsSkipped).toEqual([
      { reason: 'a repeat of a run already imported for this system (same model, same p90)', count: 3 },
      { reason: 'another accuracy target (-99 / -99.9) of a model already imported for this system', count: 1 },
    ]);
    // The same model (any case, a first round's short name) with another p90: a bad line, the first run kept (a re-test:
    // a run with every latency ×2 was counted as a repeat).
    expect(r.problems.map((p) => [p.line, p.field, p.message])).toEqual([
      [7, 'p90_latency_ms', 'a second run of bert-99 on v3.0/closed/V/a with p90 4 ms; r.csv line 2 has p90 2 ms (that one is imported)'],
      [9, 'p90_latency_ms', 'a second run of resnet50 on v3.0/closed/V/a with p90 10 ms; r.csv line 8 has p90 5 ms (that one is imported)'],
    ]);
  });
});

describe('parseMlperf: chips a catalog already lists', () => {
  const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
  const RUNS_HEAD = 'mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid';
  const sys = (id: string, device: string, kind = 'gpu') => `v3.0,closed,V,${id},Board ${id},-,-,TF,${kind},${device}`;
  const run = (id: string) => `v3.0,closed,V,${id},resnet50,SingleStream,1,2,VALID`;
  const systems = [SYS, sys('a', 'ARM Mali-G610 MP4'), sys('b', '  my npu X1 '), sys('c', 'ARM Mali-G52 MP2'), sys('d', 'BCM2835', 'cpu')].join('\n');
  const runs = [RUNS_HEAD, run('a'), run('b'), run('c'), run('d')].join('\n');
  const known = [
    { chip: 'rk3588-mali-g610', kind: 'gpu' as const, vendor: 'Rockchip', names: ['RK3588S Mali-G610 MP4', 'arm-mali-g610-mp4'] },
    { chip: 'acme-x1', kind: 'npu' as const, vendor: 'Acme', names: ['My NPU x1'] },
  ];

  it('puts a system on the catalog chip that lists its device name (any case, blanks around) or its normalised id', () => {
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }], known);
    expect(r.benchmark.map((b) => [b.system, b.chip])).toEqual([
      ['v3.0/closed/V/a', 'rk3588-mali-g610'], ['v3.0/closed/V/b', 'acme-x1'], ['v3.0/closed/V/c', 'arm-mali-g52-mp2'], ['v3.0/closed/V/d', 'broadcom-bcm2835'],
    ]);
    expect(r.chips.map((c) => [c.chip, c.kind, c.vendor, c.names])).toEqual([
      ['acme-x1', 'npu', 'Acme', ['my npu X1']], ['arm-mali-g52-mp2', 'gpu', 'Arm', ['ARM Mali-G52 MP2']], ['broadcom-bcm2835', 'cpu', 'Broadcom', ['BCM2835']], ['rk3588-mali-g610', 'gpu', 'Rockchip', ['ARM Mali-G610 MP4']],
    ]);
    // Without a catalog: the normaliser's ids.
    expect(parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }]).benchmark.map((b) => b.chip)).toEqual(['arm-mali-g610-mp4', 'my-npu-x1', 'arm-mali-g52-mp2', 'broadcom-bcm2835']);
  });

  it('reads the board from the system for a device name that tells only the cores, whatever chip lists that name', () => {
    const pi = [SYS, 'v1.1,open,C,rpi4-tvm,Raspberry (Raspberry Pi 4 Model B Rev 1.1),-,BCM2835,TVM,cpu,BCM2835', 'v1.1,open,C,box,Acme Box,-,BCM2835,TVM,cpu,BCM2835'].join('\n');
    const piRuns = [RUNS_HEAD, 'v1.1,open,C,rpi4-tvm,resnet50,SingleStream,1,2,VALID', 'v1.1,open,C,box,resnet50,SingleStream,1,2,VALID'].join('\n');
    // An earlier import (or a catalog) listed the bare name under a chip: the Pi 4 does not land there.
    const earlier = [{ chip: 'broadcom-bcm2835', kind: 'cpu' as const, vendor: 'Broadcom', names: ['BCM2835'] }];
    const r = parseMlperf([{ file: 'r.csv', text: piRuns }], [{ file: 's.csv', text: pi }], earlier);
    expect(r.benchmark.map((b) => [b.system, b.chip])).toEqual([['v1.1/open/C/rpi4-tvm', 'rpi4-cortex-a72'], ['v1.1/open/C/box', 'broadcom-bcm2835']]);
    expect(r.chips.map((c) => [c.chip, c.names])).toEqual([['broadcom-bcm2835', ['BCM2835']], ['rpi4-cortex-a72', ['BCM2835 (Raspberry (Raspberry Pi 4 Model B Rev 1.1))']]]);
  });

  it('follows a chip an earlier import created to the catalog chip that lists its id (a redirect), one step only', () => {
    // An import before the catalog created arm-mali-g610-mp4 with the raw name; the catalog then claimed that id.
    const earlier = { chip: 'arm-mali-g610-mp4', kind: 'gpu' as const, vendor: 'Arm', names: ['ARM Mali-G610 MP4'] };
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }], [earlier, ...known]);
    expect(r.benchmark.find((b) => b.system === 'v3.0/closed/V/a')?.chip).toBe('rk3588-mali-g610');
    // A raw name listed by the chip an import made of it and by a catalog chip that claimed it goes to the claimer,
    // whichever sorts first (a re-test: `my-carmel` lost to `nvidia-carmel`, `zz-orin` won).
    const made = { chip: 'arm-mali-g52-mp2', kind: 'gpu' as const, vendor: 'Arm', names: ['ARM Mali-G52 MP2'] };
    for (const claimer of ['aa-board', 'zz-board']) {
      const both = [made, { chip: claimer, kind: 'gpu' as const, vendor: 'V', names: ['ARM Mali-G52 MP2'] }];
      for (const order of [both, [...both].reverse()]) {
        expect(parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }], order).benchmark.find((b) => b.system === 'v3.0/closed/V/c')?.chip).toBe(claimer);
      }
    }
    // Two chips listing each other's ids: each system stays one step from where its name put it.
    const loop = [{ chip: 'p', kind: 'gpu' as const, vendor: 'V', names: ['q', 'ARM Mali-G52 MP2'] }, { chip: 'q', kind: 'gpu' as const, vendor: 'V', names: ['p'] }];
    expect(parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: systems }], loop).benchmark.find((b) => b.system === 'v3.0/closed/V/c')?.chip).toBe('q');
  });
});

describe('parseMlperf: text it cannot read', () => {
  it('refuses a file that is not UTF-8, naming the line (a trial: a Latin-1 byte became "NV\uFFFDDIA")', () => {
    const runs = Buffer.concat([Buffer.from('mlperf_version,division,submitter,system_id,model,scenario,p90_latency_ms\nv2.0,closed,NV'), Buffer.from([0xe9]), Buffer.from('DIA,Orin,resnet50,SingleStream,1\n')]).toString('utf8');
    expect(() => parseMlperf([{ file: 'r.csv', text: runs }], [])).toThrow('r.csv: line 2 is not valid UTF-8 (save the file as UTF-8)');
  });
});

describe('parseMlperf: p50 and result_valid are checked before the repeat check', () => {
  const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
  const HEAD = 'mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid';
  const systems = [{ file: 's.csv', text: `${SYS}\nv3.0,closed,V,a,Box A,-,Some CPU,TF,cpu,Some CPU\n` }];
  const run = (p50: string, valid: string, model = 'resnet50', scenario = 'SingleStream') => `v3.0,closed,V,a,${model},${scenario},${p50},2,${valid}`;

  it('reports a p50 that is not a number > 0 as a bad line, and skips an INVALID run for that reason, not as a repeat', () => {
    const runs = [
      HEAD,
      run('1', 'VALID'), // line 2: imported
      run('abc', 'VALID'), // 3
      run('-1', 'VALID'), // 4
      run('0', 'VALID'), // 5
      run('', 'VALID'), // 6: an empty p50 is no damage (p50 is not imported): a repeat of line 2
      run('0x10', 'VALID'), // 7
      run('1e999', 'VALID'), // 8: Infinity
      run('1', 'INVALID'), // 9
      run('1', 'INVALID', 'bert-99'), // 10: INVALID, even as the first of its model
      run('1', 'valid'), // 11
      run('1', ''), // 12
      run('abc', 'INVALID', 'resnet50', 'Offline'), // 13: another scenario, skipped as such
      run('1', 'VALID'), // 14: a true repeat
      run('2.5', 'VALID', 'bert-99'), // 15: p50 above p90 (2): columns swapped
    ].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], systems);
    expect(r.problems.map((p) => [p.file, p.line, p.field, p.value, p.message])).toEqual([
      ['r.csv', 3, 'p50_latency_ms', 'abc', 'latency must be a number > 0 ms, got "abc"'],
      ['r.csv', 4, 'p50_latency_ms', '-1', 'latency must be a number > 0 ms, got "-1"'],
      ['r.csv', 5, 'p50_latency_ms', '0', 'latency must be a number > 0 ms, got "0"'],
      ['r.csv', 7, 'p50_latency_ms', '0x10', 'latency must be a number > 0 ms, got "0x10"'],
      ['r.csv', 8, 'p50_latency_ms', '1e999', 'latency must be a number > 0 ms, got "1e999"'],
      ['r.csv', 11, 'result_valid', 'valid', 'expected VALID or INVALID, got "valid"'],
      ['r.csv', 12, 'result_valid', '', 'expected VALID or INVALID, got ""'],
      ['r.csv', 15, 'p50_latency_ms', '2.5', 'p50 2.5 ms is above p90 2 ms: a median cannot exceed the 90th percentile (columns swapped?)'],
    ]);
    expect(r.runsSkipped).toEqual([
      { reason: 'a repeat of a run already imported for this system (same model, same p90)', count: 2 },
      { reason: 'result_valid=INVALID', count: 2 },
      { reason: 'scenario=Offline', count: 1 },
    ]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['resnet50', 2]]);
    expect(r.benchmark.length + r.problems.length + 5).toBe(r.runsRead);
  });

  it('imports files without the p50 and result_valid columns as before', () => {
    const runs = 'mlperf_version,division,submitter,system_id,model,scenario,p90_latency_ms\nv3.0,closed,V,a,resnet50,SingleStream,2\n';
    const r = parseMlperf([{ file: 'r.csv', text: runs }], systems);
    expect([r.problems, r.runsSkipped, r.benchmark.map((b) => b.latency_ms)]).toEqual([[], [], [2]]);
  });

  it('refuses a run whose p90_latency_ms disagrees with its primary metric, the 90th percentile latency in its own unit (a trial: a row in µs stored 1000× slow)', () => {
    const head = 'mlperf_version,division,submitter,system_id,model,scenario,primary_metric,primary_value,primary_unit,p90_latency_ms';
    const row = (model: string, value: string, unit: string, p90: string) => `v3.0,closed,V,a,${model},SingleStream,90th percentile latency (${unit}),${value},${unit},${p90}`;
    const runs = [head,
      row('resnet50', '1.08779', 'ms', '1.08779'), // 2: agrees
      row('bert-99', '1087.79', 'us', '1.08779'), // 3: agrees, in µs
      row('rnnt', '1087.79', 'us', '1087.79'), // 4: the column holds µs
      row('retinanet', '1.08779', 'ms', '50'), // 5: disagree
      row('3d-unet-99', '2', 'fortnights', '2'), // 6: not a unit of time
      row('ssd-resnet34', '0.818143', 'ms', '0.818142'), // 7: each rounded on its own: agrees
    ].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], systems);
    expect(r.problems.map((p) => [p.line, p.field, p.message])).toEqual([
      [4, 'p90_latency_ms', 'p90_latency_ms 1087.79 disagrees with the primary metric "90th percentile latency (us)", 1087.79 us (1.08779 ms), by more than 0.1 % (a column in another unit than its name says?)'],
      [5, 'p90_latency_ms', 'p90_latency_ms 50 disagrees with the primary metric "90th percentile latency (ms)", 1.08779 ms, by more than 0.1 % (a column in another unit than its name says?)'],
      [6, 'p90_latency_ms', 'primary_unit "fortnights" of the primary metric ("90th percentile latency (fortnights)") is not a unit of time (ns, us, ms, s)'],
    ]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['resnet50', 1.08779], ['bert-99', 1.08779], ['ssd-resnet34', 0.818142]]);
  });
});

describe('parseMlperf: a run whose latencies contradict each other or its rate (a trial: every latency column ×1000 was imported)', () => {
  const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
  const systems = [{ file: 's.csv', text: `${SYS}\nv3.0,closed,V,a,Box A,-,Some CPU,TF,cpu,Some CPU\n` }];
  const head = 'mlperf_version,division,submitter,system_id,model,scenario,primary_metric,primary_value,primary_unit,qps_without_loadgen_overhead,min_latency_ms,mean_latency_ms,p50_latency_ms,p90_latency_ms,p95_latency_ms,p99_latency_ms,max_latency_ms';
  const row = (model: string, qps: string, lat: [string, string, string, string, string, string, string]) =>
    `v3.0,closed,V,a,${model},SingleStream,90th percentile latency (ms),${lat[3]},ms,${qps},${lat.join(',')}`;

  it('refuses latencies scaled together (a file in µs under ms headers), and percentiles that decrease; keeps a run within 2× of its rate', () => {
    const runs = [head,
      // 2: the shipped v3.0 resnet50 run of a Jetson-like board: 1000 / 317.6 = 3.149 ms against a mean of 3.148
      row('resnet50', '317.6', ['3.0', '3.148', '3.14', '3.2', '3.25', '3.4', '9.1']),
      // 3: every latency ×1000 (µs written as ms), the primary metric too: only the rate tells
      row('bert-99', '317.6', ['3000', '3148', '3140', '3200', '3250', '3400', '9100']),
      // 4: a damaged p90, above p95 and max
      row('rnnt', '317.6', ['3.0', '3.148', '3.14', '490365', '3.25', '3.4', '9.1']),
      // 5: a mean 1.9× the rate's (a slow tail): kept
      row('retinanet', '100', ['5', '19', '18', '20', '21', '22', '30']),
      // 6: min above p50
      row('3d-unet-99', '317.6', ['3.2', '3.148', '3.14', '3.2', '3.25', '3.4', '9.1']),
      // 7: p50 … max and the primary metric ×1000, min and mean left in ms (a re-test): the mean is below half of p50
      row('ssd-resnet34', '317.6', ['3.0', '3.148', '3140', '3200', '3250', '3400', '9100']),
      // 8, 9: every latency ×1000 and a rate of 0 / NaN (a re-test: the rate check was passed over)
      row('rnnt', '0', ['3000', '3148', '3140', '3200', '3250', '3400', '9100']),
      row('dlrm', 'NaN', ['3000', '3148', '3140', '3200', '3250', '3400', '9100']),
    ].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], systems);
    expect(r.problems.map((p) => [p.line, p.field, p.message])).toEqual([
      [3, 'mean_latency_ms', 'mean_latency_ms 3148 disagrees with qps_without_loadgen_overhead 317.6: one query at a time, the mean latency is 1000 / qps = 3.14861 ms (latency columns in another unit than their names say?)'],
      [4, 'p90_latency_ms', 'p90_latency_ms 490365 is above p95_latency_ms 3.25: a run\'s latencies cannot decrease from min through the percentiles to max (a damaged cell, or columns swapped?)'],
      [6, 'min_latency_ms', 'min_latency_ms 3.2 is above p50_latency_ms 3.14: a run\'s latencies cannot decrease from min through the percentiles to max (a damaged cell, or columns swapped?)'],
      [7, 'mean_latency_ms', 'mean_latency_ms 3.148 is below half of p50_latency_ms 3140: half of the queries take p50 or more, so their mean cannot (latency columns in different units?)'],
      [8, 'qps_without_loadgen_overhead', 'queries per second must be a number > 0, got "0"'],
      [9, 'qps_without_loadgen_overhead', 'queries per second must be a number > 0, got "NaN"'],
    ]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['resnet50', 3.2], ['retinanet', 20]]);
  });

  it('refuses a latency cell or primary value that is not a number > 0, naming its column (a trial: max "abc" and NaNs were stored, p99 -4.9 was blamed on p97)', () => {
    const ok = ['3.0', '3.148', '3.14', '3.2', '3.25', '3.4', '9.1'] as const;
    const at = (i: number, cell: string) => ok.map((x, j) => (j === i ? cell : x)) as unknown as [string, string, string, string, string, string, string];
    const runs = [head,
      row('resnet50', '317.6', at(6, 'abc')), // 2: max
      row('bert-99', '317.6', at(0, 'NaN')), // 3: min
      row('rnnt', '317.6', at(5, '-4.9')), // 4: p99
      row('retinanet', '317.6', at(4, 'Infinity')), // 5: p95
      `v3.0,closed,V,a,dlrm,SingleStream,90th percentile latency (ms),NaN,ms,317.6,${ok.join(',')}`, // 6: the primary value
      row('3d-unet-99', '317.6', at(6, '')), // 7: an empty max is not given: kept
    ].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], systems);
    expect(r.problems.map((p) => [p.line, p.field, p.value, p.message])).toEqual([
      [2, 'max_latency_ms', 'abc', 'latency must be a number > 0 ms, got "abc"'],
      [3, 'min_latency_ms', 'NaN', 'latency must be a number > 0 ms, got "NaN"'],
      [4, 'p99_latency_ms', '-4.9', 'latency must be a number > 0 ms, got "-4.9"'],
      [5, 'p95_latency_ms', 'Infinity', 'latency must be a number > 0 ms, got "Infinity"'],
      [6, 'primary_value', 'NaN', 'the primary metric\'s value ("90th percentile latency (ms)") must be a number > 0, got "NaN"'],
    ]);
    expect(r.benchmark.map((b) => [b.model_id, b.latency_ms])).toEqual([['3d-unet-99', 3.2]]);
  });
});

describe('quoteValue: a bad value in a message is cut to 40 characters and its length', () => {
  it.each([
    ['abc', '"abc"'],
    ['x'.repeat(40), `"${'x'.repeat(40)}"`],
    ['x'.repeat(41), `"${'x'.repeat(40)}…" (41 characters)`],
    ['9'.repeat(2_000_000), `"${'9'.repeat(40)}…" (2,000,000 characters)`],
    // 39 characters, then an emoji (a surrogate pair) across the cut: it is left out whole.
    [`${'a'.repeat(39)}😀${'b'.repeat(10)}`, `"${'a'.repeat(39)}…" (51 characters)`],
    ['tab\there"', '"tab\\there\\""'],
    // What does not show, or reorders the line, escaped (a trial: a cell "\u200b8" quoted as "8").
    ['\u200b8', '"\\u200b8"'],
    ['\u202eabc', '"\\u202eabc"'],
  ])('%j', (value, quoted) => expect(quoteValue(value)).toBe(quoted));

  it('keeps the whole of a system key up to 120 characters, and cuts a 2 MB latency cell in the value and the message', () => {
    const SYS = 'mlperf_version,division,submitter,system_id,system_name,accelerator_model_name,host_processor_model_name,framework,compute_kind,compute_device';
    const nines = '9'.repeat(2_000_000);
    const runs = [
      'mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid',
      `v3.0,closed,V,a,resnet50,SingleStream,1,${nines},VALID`,
      `v3.0,closed,V,${'b'.repeat(100)},resnet50,SingleStream,1,2,VALID`,
      `v3.0,closed,V,${nines},resnet50,SingleStream,1,2,VALID`,
    ].join('\n');
    const r = parseMlperf([{ file: 'r.csv', text: runs }], [{ file: 's.csv', text: `${SYS}\nv3.0,closed,V,a,Box A,-,Some CPU,TF,cpu,Some CPU\n` }]);
    expect(r.problems.map((p) => [p.line, p.field, p.value.length, p.message])).toEqual([
      [2, 'p90_latency_ms', 2_000_000, `latency must be a number > 0 ms, got "${'9'.repeat(40)}…" (2,000,000 characters)`],
      [3, 'system_id', 100, `no system row for "v3.0/closed/V/${'b'.repeat(100)}"`],
      [4, 'system_id', 2_000_000, `no system row for "v3.0/closed/V/${'9'.repeat(106)}…" (2,000,014 characters)`],
    ]);
  });
});

describe('mlperfModelId', () => {
  it.each([
    ['resnet50', 'resnet50'], ['bert-99', 'bert-99'], ['bert-99.9', 'bert-99'], ['3d-unet-99', '3d-unet-99'],
    ['3d-unet-99.9', '3d-unet-99'], ['gptj-99', 'gptj-99'], ['llama2-70b-99.9', 'llama2-70b-99'],
    ['bert-99_obert-large', 'bert-99_obert-large'], ['bert-99.9_obert-large', 'bert-99_obert-large'], ['ResNet50', 'resnet50'],
    ['bert-99.90', 'bert-99.90'], ['bert-999', 'bert-999'],
    ['mobilenet-v1-0.25-128-quantized', 'mobilenet-v1-0.25-128-quantized'], ['resnet-990', 'resnet-990'],
    // The first rounds' short names (a trial: Centaur's v1.1 closed `resnet` and `ssd-small` were models of their own).
    ['resnet', 'resnet50'], ['ssd-small', 'ssd-mobilenet'], ['SSD-Large', 'ssd-resnet34'], ['resnet-99', 'resnet-99'],
  ])('%s → %s', (model, id) => expect(mlperfModelId(model)).toBe(id));

});

describe('normaliseChip over spellings in the MLPerf systems files', () => {
  it.each([
    // NVIDIA: one family across form factor, memory, power cap, vGPU profile
    ['NVIDIA A100-SXM4-80GB', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100 80GB PCIe', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100-PCIe-40GB', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100_PCIe_80GB', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100-SXM-80GB-500W', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100-SXM-80C', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100-SXM-80GB (1x1g.10gb MIG)', 'nvidia-a100-mig-1g-10gb', 'gpu', 'NVIDIA'],
    ['NVIDIA A30 (4x1g.6gb MIG)', 'nvidia-a30-mig-1g-6gb', 'gpu', 'NVIDIA'],
    // A trial: other spellings of a MIG slice landed on the whole GPU.
    ['NVIDIA A100 80GB MIG 3g.40gb', 'nvidia-a100-mig-3g-40gb', 'gpu', 'NVIDIA'],
    ['NVIDIA H100-SXM-80GB MIG-1g.10gb', 'nvidia-h100-mig-1g-10gb', 'gpu', 'NVIDIA'],
    // MIG named without a profile is the whole GPU; the profile before the GPU, as nvidia-smi -L prints it; other spellings of it.
    ['NVIDIA A100 (MIG)', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['NVIDIA A100 (MIG disabled)', 'nvidia-a100', 'gpu', 'NVIDIA'],
    ['MIG 1g.10gb NVIDIA A100-SXM4-80GB', 'nvidia-a100-mig-1g-10gb', 'gpu', 'NVIDIA'],
    ['NVIDIA A100 MIG 1g 10gb', 'nvidia-a100-mig-1g-10gb', 'gpu', 'NVIDIA'],
    ['NVIDIA A100-SXM4-80GB MIG 1c.3g.40gb', 'nvidia-a100-mig-1c-3g-40gb', 'gpu', 'NVIDIA'],
    ['NVIDIA A10-24Q', 'nvidia-a10', 'gpu', 'NVIDIA'],
    ['NVIDIA A2', 'nvidia-a2', 'gpu', 'NVIDIA'],
    ['NVIDIA H100-NVL-94GB', 'nvidia-h100', 'gpu', 'NVIDIA'],
    ['NVIDIA H200-SXM-141GB-CTS', 'nvidia-h200', 'gpu', 'NVIDIA'],
    ['NVIDIA GH200 Grace Hopper Superchip 96GB', 'nvidia-gh200', 'gpu', 'NVIDIA'],
    ['NVIDIA L40', 'nvidia-l40', 'gpu', 'NVIDIA'],
    ['NVIDIA L40S', 'nvidia-l40s', 'gpu', 'NVIDIA'],
    ['Tesla T4', 'nvidia-t4', 'gpu', 'NVIDIA'],
    ['Nvidia Tesla T4', 'nvidia-t4', 'gpu', 'NVIDIA'],
    ['Nvidia Tesla K80', 'nvidia-k80', 'gpu', 'NVIDIA'],
    ['NVIDIA GeForce RTX 4090 (Ada Lovelace)', 'nvidia-rtx-4090', 'gpu', 'NVIDIA'],
    ['NVIDIA RTX A5000 GPU', 'nvidia-rtx-a5000', 'gpu', 'NVIDIA'],
    // Jetson
    ['NVIDIA Orin', 'jetson-agx-orin', 'gpu', 'NVIDIA'],
    ['NVIDIA Jetson AGX Orin', 'jetson-agx-orin', 'gpu', 'NVIDIA'],
    ['NVIDIA Jetson AGX Orin 64G', 'jetson-agx-orin', 'gpu', 'NVIDIA'],
    ['NVIDIA Orin NX', 'jetson-orin-nx', 'gpu', 'NVIDIA'],
    ['NVIDIA Xavier NX', 'jetson-xavier-nx', 'gpu', 'NVIDIA'],
    ['NVIDIA AGX Xavier', 'jetson-agx-xavier', 'gpu', 'NVIDIA'],
    ['NVIDIA Xavier', 'jetson-agx-xavier', 'gpu', 'NVIDIA'],
    ['NVIDIA Carmel (ARMv8.2)', 'nvidia-carmel', 'cpu', 'NVIDIA'],
    // Qualcomm SKUs stay apart
    ['QUALCOMM Cloud AI 100 DM.2e', 'qualcomm-ai100-dm2e', 'npu', 'Qualcomm'],
    ['QUALCOMM Cloud AI 100 DM.2', 'qualcomm-ai100-dm2', 'npu', 'Qualcomm'],
    ['QUALCOMM Cloud AI 100 PCIe/HHHL Pro', 'qualcomm-ai100-pro', 'npu', 'Qualcomm'],
    ['QUALCOMM Cloud AI 100 PCIe HHHL', 'qualcomm-ai100-pcie', 'npu', 'Qualcomm'],
    // other accelerators
    ['TPU v5e', 'google-tpu-v5e', 'asic', 'Google'],
    ['Inferentia', 'aws-inferentia', 'asic', 'AWS'],
    ['AMD Instinct MI300X-NPS1-SPX-192GB-750W', 'amd-mi300x', 'gpu', 'AMD'],
    ['AMD MI300X-NPS1-SPX-192GB-750W', 'amd-mi300x', 'gpu', 'AMD'],
    ['DNA-F200 v2 on Alveo U50', 'xilinx-alveo-u50', 'fpga', 'Xilinx'],
    ['FuriosaAI Warboy', 'furiosa-warboy', 'npu', 'FuriosaAI'],
    ['UntetherAI speedAI240 Slim', 'untether-speedai240', 'npu', 'Untether AI'],
    ['BR104-300W PCIe', 'biren-br104', 'gpu', 'Biren'],
    ['ARM Mali-G610 MP4', 'arm-mali-g610-mp4', 'gpu', 'Arm'],
    ['Arm Mali-G52 MP6 GPU', 'arm-mali-g52-mp6', 'gpu', 'Arm'],
    ['tensorflow-metal PluggableDevice', 'apple-gpu', 'gpu', 'Apple'],
    // CPUs
    ['Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz', 'intel-xeon-8380', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) Platinum 8380', 'intel-xeon-8380', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) Gold 8380H CPU @ 2.70GHz', 'intel-xeon-8380h', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) Platinum 8380H CPU @ 2.90GHz', 'intel-xeon-8380h', 'cpu', 'Intel'],
    ['INTEL(R) XEON(R) PLATINUM 8592+', 'intel-xeon-8592plus', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) Platinum 8480+ (Sapphire Rapids) CPU @ 2.00GHz', 'intel-xeon-8480plus', 'cpu', 'Intel'],
    ['INTEL(R) XEON(R) 6980P', 'intel-xeon-6980p', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) w7-2495X', 'intel-xeon-w7-2495x', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz', 'intel-xeon-e5-2686v4', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) CPU (Intel Cascade Lake CPU platform)', 'intel-xeon-cascade-lake', 'cpu', 'Intel'],
    ['Intel(R) Xeon(R) CPU @ 2.30GHz', 'intel-xeon', 'cpu', 'Intel'],
    ['Intel Ice Lake-SP 8368', 'intel-xeon-8368', 'cpu', 'Intel'],
    ['Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz', 'intel-core-i5-10400', 'cpu', 'Intel'],
    // Mobile parts with a graphics tier after the letter had become slugs of the whole name.
    ['11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz', 'intel-core-i7-1185g7', 'cpu', 'Intel'],
    ['Intel Core i5-1035G1', 'intel-core-i5-1035g1', 'cpu', 'Intel'],
    // Embedded, N- and Y-series parts, and a blank for the hyphen (a re-test: all slugs of kind asic).
    ['Intel(R) Core(TM) i7-1185GRE @ 2.80GHz', 'intel-core-i7-1185gre', 'cpu', 'Intel'],
    ['Intel Core i7-1185G7E', 'intel-core-i7-1185g7e', 'cpu', 'Intel'],
    ['Intel Core i3-N305', 'intel-core-i3-n305', 'cpu', 'Intel'],
    ['Intel Core i7-7Y75', 'intel-core-i7-7y75', 'cpu', 'Intel'],
    ['Intel Core m3-8100Y', 'intel-core-m3-8100y', 'cpu', 'Intel'],
    ['Core i7 1185G7', 'intel-core-i7-1185g7', 'cpu', 'Intel'],
    ['AMD EPYC 9654 96-Core Processor', 'amd-epyc-9654', 'cpu', 'AMD'],
    ['AMD Ryzen 5 5500U with Radeon Graphics', 'amd-ryzen-5-5500u', 'cpu', 'AMD'],
    ['Apple M1 Pro', 'apple-m1-pro', 'cpu', 'Apple'],
    ['MacBook Pro (Model Identifier: MacBookPro18,1)', 'apple-m1-pro', 'cpu', 'Apple'],
    ['BCM2835 Arm Cortex-A72 r0p3', 'rpi4-cortex-a72', 'cpu', 'Broadcom'],
    ['BCM2837 Arm Cortex-A53 r0p4', 'rpi3-cortex-a53', 'cpu', 'Broadcom'],
    ['BCM2835', 'broadcom-bcm2835', 'cpu', 'Broadcom'],
    // Boards and phone SoCs by name (a trial: "Raspberry Pi 4 Model B" had been an unknown ASIC, a Snapdragon's two
    // packages two chips of kind asic).
    ['Raspberry Pi 4 Model B Rev 1.4', 'rpi4-cortex-a72', 'cpu', 'Broadcom'],
    ['Raspberry Pi 400', 'rpi4-cortex-a72', 'cpu', 'Broadcom'],
    ['RPi 5', 'rpi5-cortex-a76', 'cpu', 'Broadcom'],
    ['BCM2712 Arm Cortex-A76', 'rpi5-cortex-a76', 'cpu', 'Broadcom'],
    ['Raspberry Pi 3 Model B Rev 1.2', 'rpi3-cortex-a53', 'cpu', 'Broadcom'],
    ['Qualcomm Snapdragon 865 (QRB5165)', 'qualcomm-snapdragon-865', 'cpu', 'Qualcomm'],
    ['QUALCOMM Snapdragon 865 (SM8250)', 'qualcomm-snapdragon-865', 'cpu', 'Qualcomm'],
    ['Snapdragon 8+ Gen 1', 'qualcomm-snapdragon-8-plus-gen-1', 'cpu', 'Qualcomm'],
    ['Snapdragon 8 Gen 2 NPU', 'qualcomm-snapdragon-8-gen-2-npu', 'npu', 'Qualcomm'],
    ['MediaTek Dimensity 9000', 'mediatek-dimensity-9000', 'cpu', 'MediaTek'],
    ['Helio P90', 'mediatek-helio-p90', 'cpu', 'MediaTek'],
    ['Samsung Exynos 2100', 'samsung-exynos-2100', 'cpu', 'Samsung'],
    ['Kirin 990 5G', 'hisilicon-kirin-990', 'cpu', 'HiSilicon'],
    ['Google Tensor G2', 'google-tensor-g2', 'cpu', 'Google'],
    ['Google Tensor Processing Unit v4', 'google-tpu-v4', 'asic', 'Google'],
    ['Allwinner H6', 'allwinner-h6', 'cpu', 'Allwinner'],
    // A second trial's spellings: one TPU v5e, a module without NVIDIA or Jetson, a DSP beside its SoC, the Ada workstation
    // cards apart from the Turing Quadro of the same number.
    ['Google TPU v5 lite', 'google-tpu-v5e', 'asic', 'Google'],
    ['TPU v5litepod', 'google-tpu-v5e', 'asic', 'Google'],
    ['TPU v5p', 'google-tpu-v5p', 'asic', 'Google'],
    ['Orin Nano', 'jetson-orin-nano', 'gpu', 'NVIDIA'],
    ['AGX Orin CPU', 'jetson-agx-orin-cpu', 'cpu', 'NVIDIA'],
    ['Xavier NX', 'jetson-xavier-nx', 'gpu', 'NVIDIA'],
    ['Qualcomm Hexagon DSP (Snapdragon 8 Gen 2)', 'qualcomm-snapdragon-8-gen-2-npu', 'npu', 'Qualcomm'],
    ['Adreno 740 GPU (Snapdragon 8 Gen 2)', 'qualcomm-snapdragon-8-gen-2-gpu', 'gpu', 'Qualcomm'],
    ['NVIDIA RTX 4000 Ada Generation', 'nvidia-rtx-4000-ada', 'gpu', 'NVIDIA'],
    ['Quadro RTX 4000', 'nvidia-rtx-4000', 'gpu', 'NVIDIA'],
    ['NVIDIA GeForce RTX 4090 (Ada Lovelace)', 'nvidia-rtx-4090', 'gpu', 'NVIDIA'],
    ['HAILO 8', 'hailo-8', 'npu', 'Hailo'],
    // A re-test's: an accelerator named with its Pi is the accelerator; Pi compute modules and the 500; the Pi 2's and
    // 3's SoCs by name; a Tensor's TPU is its NPU; DSP/HTP names; "+" and the s / cx / Elite Snapdragons; a blank for
    // the Cortex hyphen.
    ['Hailo-8L on Raspberry Pi 5', 'hailo-8l', 'npu', 'Hailo'],
    ['Raspberry Pi 4 + Intel NCS2', 'intel-movidius-myriad-x', 'npu', 'Intel'],
    ['Raspberry Pi CM4', 'rpi4-cortex-a72', 'cpu', 'Broadcom'],
    ['Raspberry Pi 500', 'rpi5-cortex-a76', 'cpu', 'Broadcom'],
    ['BCM2837B0', 'rpi3-cortex-a53', 'cpu', 'Broadcom'],
    ['BCM2836', 'rpi2-cortex-a7', 'cpu', 'Broadcom'],
    ['Google Tensor G3 TPU', 'google-tensor-g3-npu', 'npu', 'Google'],
    ['Snapdragon 888 HTP', 'qualcomm-snapdragon-888-npu', 'npu', 'Qualcomm'],
    ['MediaTek Dimensity 9200+', 'mediatek-dimensity-9200-plus', 'cpu', 'MediaTek'],
    ['Snapdragon 8s Gen 3', 'qualcomm-snapdragon-8s-gen-3', 'cpu', 'Qualcomm'],
    ['Snapdragon 8 Elite', 'qualcomm-snapdragon-8-elite', 'cpu', 'Qualcomm'],
    ['Snapdragon 8cx Gen 3', 'qualcomm-snapdragon-8cx-gen-3', 'cpu', 'Qualcomm'],
    ['ARM Cortex A72 MP4', 'arm-cortex-a72x4', 'cpu', 'Arm'],
    ['Amlogic S922X (12nm): Arm Cortex-A73 MP4 (big); Arm Cortex-A53 MP2 (LITTLE)', 'amlogic-s922x', 'cpu', 'Amlogic'],
    ['RockChip RK3588S: Arm Cortex-A76 (big); Arm Cortex-A55 (LITTLE)', 'rockchip-rk3588', 'cpu', 'Rockchip'],
    // A trial: the SoC's NPU (or GPU) named by the SoC had landed on its CPU's id.
    ['Rockchip RK3588 NPU', 'rockchip-rk3588-npu', 'npu', 'Rockchip'],
    ['RK3588 GPU', 'rockchip-rk3588-gpu', 'gpu', 'Rockchip'],
    // A Mali named with its SoC is the Mali's id, which the catalog lists (a re-test: three ids for one GPU).
    ['RK3588S Mali-G610 MP4', 'arm-mali-g610-mp4', 'gpu', 'Arm'],
    // A processor's GPU or NPU named by it is not its CPU's id (a re-test); a name listing the SoC's parts is the CPU's.
    ['Apple M2 GPU', 'apple-m2-gpu', 'gpu', 'Apple'],
    ['Apple M1 Neural Engine', 'apple-m1-npu', 'npu', 'Apple'],
    ['Intel Core Ultra 7 155H NPU', 'intel-core-ultra-7-155h-npu', 'npu', 'Intel'],
    ['AMD Ryzen 7 7840U NPU', 'amd-ryzen-7-7840u-npu', 'npu', 'AMD'],
    ['Apple M1 (8-core CPU, 7-core GPU)', 'apple-m1', 'cpu', 'Apple'],
    ['Amlogic A311D NPU', 'amlogic-a311d-npu', 'npu', 'Amlogic'],
    // An SoC described whole, its cores listed beside its Mali or NPU, is the SoC (a trial's had landed on the Mali or NPU).
    ['Rockchip RK3588 (4x Cortex-A76, Mali-G610 GPU, 6 TOPS NPU)', 'rockchip-rk3588', 'cpu', 'Rockchip'],
    ['Amlogic S922X (4x Cortex-A73, 2x Cortex-A53, Mali-G52)', 'amlogic-s922x', 'cpu', 'Amlogic'],
    ['Rockchip RK3588 with 4x Cortex-A76 and a 6 TOPS NPU', 'rockchip-rk3588', 'cpu', 'Rockchip'],
    ['Rockchip RK3588S (8-core CPU, Mali-G610 MP4, 6 TOPS NPU)', 'rockchip-rk3588', 'cpu', 'Rockchip'],
    ['Amlogic S905X3', 'amlogic-s905x3', 'cpu', 'Amlogic'],
    // A Jetson module's CPU named as such is not the module's GPU (a trial); the module described whole is the module.
    ['NVIDIA Jetson AGX Orin CPU', 'jetson-agx-orin-cpu', 'cpu', 'NVIDIA'],
    ['NVIDIA Jetson Orin Nano CPU', 'jetson-orin-nano-cpu', 'cpu', 'NVIDIA'],
    ['Arm Cortex-A78AE (NVIDIA Jetson AGX Orin)', 'jetson-agx-orin-cpu', 'cpu', 'NVIDIA'],
    ['NVIDIA Jetson AGX Orin 64GB (12-core Arm Cortex-A78AE CPU, 2048-core Ampere GPU)', 'jetson-agx-orin', 'gpu', 'NVIDIA'],
    ['Arm Cortex-A72 MP2 (big); Arm Cortex-A53 MP4 (LITTLE)', 'arm-cortex-a72x2-a53x4', 'cpu', 'Arm'],
    ['Arm Cortex-A72 MP4', 'arm-cortex-a72x4', 'cpu', 'Arm'],
    ['Cortex-A72', 'arm-cortex-a72', 'cpu', 'Arm'],
    ['Arm Cortex-A78AE v8.2', 'arm-cortex-a78ae', 'cpu', 'Arm'],
    ['4-core Cortex-A65 CPU', 'arm-cortex-a65x4', 'cpu', 'Arm'],
    ['Neoverse-N1 (aarch64)', 'arm-neoverse-n1', 'cpu', 'Arm'],
    ['Alibaba Yitian 710', 'alibaba-yitian-710', 'cpu', 'Alibaba'],
    // multi-node, fallback, empty
    ['1 Node: NVIDIA A100-SXM-80GBx8, 2 Nodes: NVIDIA A30x4', 'nvidia-a100+nvidia-a30', 'gpu', 'NVIDIA'],
    ['ARMv8 Processor rev 1 (v8l)', 'armv8-processor-rev-1-v8l', 'cpu', 'Arm'],
    ['NPU 3.0', 'npu-3-0', 'npu', 'unknown'],
    ['', 'unknown', 'asic', 'unknown'],
  ] as const)('%j → %s', (name, chip, kind, vendor) => {
    expect(normaliseChip(name)).toEqual({ chip, kind, vendor });
  });

  // MLPerf's system names the board where its device name tells only the instruction set or the cores (cTuning's
  // Raspberry Pi 4 as `BCM2835`, its Jetson AGX Orin's CPU as `ARMv8 Processor rev 1 (v8l)`, Krai's as `Arm Cortex-A78AE
  // v8.2`): one chip, not three ids of which two name no board.
  it.each([
    ['BCM2835', 'Raspberry (Raspberry Pi 4 Model B Rev 1.1) rpi4-tvm-fp32', 'rpi4-cortex-a72', 'Broadcom'],
    ['BCM2835', 'rpi3-tflite', 'rpi3-cortex-a53', 'Broadcom'],
    ['Arm Cortex-A72 MP4', 'Raspberry Pi 4 rpi4coral-fan.on-tflite-v2.5.0-ruy', 'rpi4-cortex-a72', 'Broadcom'],
    ['ARMv8 Processor rev 1 (v8l)', 'NVIDIA Jetson AGX Orin (TFLite with xnnpack on CPU) nvidia_orin-tflite_cpp-cpu', 'jetson-agx-orin-cpu', 'NVIDIA'],
    ['Arm Cortex-A78AE v8.2', 'NVIDIA Jetson AGX Orin orin-armnn-v22.11-neon', 'jetson-agx-orin-cpu', 'NVIDIA'],
    ['aarch64', 'Jetson Orin Nano Developer Kit', 'jetson-orin-nano-cpu', 'NVIDIA'],
    ['NVIDIA Carmel (ARMv8.2)', 'NVIDIA Jetson AGX Xavier xavier-power.0', 'jetson-agx-xavier-cpu', 'NVIDIA'],
    ['BCM2835', 'Raspberry Pi Compute Module 4 Rev 1.0', 'rpi4-cortex-a72', 'Broadcom'],
    ['BCM2835', 'Raspberry Pi 500 Rev 1.0', 'rpi5-cortex-a76', 'Broadcom'],
    ['ARM Cortex A72', 'Raspberry Pi 4', 'rpi4-cortex-a72', 'Broadcom'],
  ] as const)('%j on system %j → %s', (name, system, chip, vendor) => {
    expect(normaliseChip(name, { kind: 'cpu', system })).toEqual({ chip, kind: 'cpu', vendor });
  });

  it('reads an NPU named only as such as the NPU of its SoC host (Alibaba\'s RK3588 board: "NPU 3.0")', () => {
    const host = 'RockChip RK3588: Arm Cortex-A76 (big); Arm Cortex-A55 (LITTLE)';
    expect(normaliseChip('NPU 3.0', { host })).toEqual({ chip: 'rockchip-rk3588-npu', kind: 'npu', vendor: 'Rockchip' });
    // A host that is no SoC, or an NPU with a name of its own, stays as named.
    expect(normaliseChip('NPU 3.0', { host: 'Intel Xeon Gold 6248' }).chip).toBe('npu-3-0');
    expect(normaliseChip('Acme NPU', { host }).chip).toBe('acme-npu');
  });

  it('keeps the device name where it tells the chip, names other cores than the board\'s, or the system names no board', () => {
    // Cores that are not the board's: the name wins (a system file copied from another board).
    expect(normaliseChip('Arm Cortex-A53 MP4', { kind: 'cpu', system: 'Raspberry Pi 4' }).chip).toBe('arm-cortex-a53x4');
    expect(normaliseChip('Arm Cortex-A57', { kind: 'cpu', system: 'NVIDIA Jetson AGX Orin' }).chip).toBe('arm-cortex-a57');
    // A Broadcom SoC number is a Pi's: on another board, as named; a Pi SoC number by name wins over the board.
    expect(normaliseChip('BCM2835', { kind: 'cpu', system: 'NVIDIA Jetson AGX Orin 64GB' }).chip).toBe('broadcom-bcm2835');
    expect(normaliseChip('BCM2837', { kind: 'cpu', system: 'Raspberry Pi 4 Model B' }).chip).toBe('rpi3-cortex-a53');
    // A name that tells the chip is not generic.
    expect(normaliseChip('BCM2835 Arm Cortex-A72 r0p3', { kind: 'cpu', system: 'Raspberry Pi 3 Model B Rev 1.2 (rpi3)' }).chip).toBe('rpi4-cortex-a72');
    expect(normaliseChip('Intel Xeon Platinum 8380', { kind: 'cpu', system: 'Raspberry Pi 4' }).chip).toBe('intel-xeon-8380');
    // An accelerator is never the board's CPU.
    expect(normaliseChip('NVIDIA Jetson AGX Orin', { system: 'NVIDIA Jetson AGX Orin (TensorRT)' }).chip).toBe('jetson-agx-orin');
    // No board named: the name alone.
    expect(normaliseChip('ARMv8 Processor rev 1 (v8l)', { kind: 'cpu', system: 'Acme Edge Box' }).chip).toBe('armv8-processor-rev-1-v8l');
    expect(normaliseChip('BCM2835', { kind: 'cpu', system: '' }).chip).toBe('broadcom-bcm2835');
  });

  it('falls back to the slug, with the caller kind hint when no keyword classifies the name', () => {
    expect(normaliseChip('Zorblax 9000')).toEqual({ chip: 'zorblax-9000', kind: 'asic', vendor: 'unknown' });
    expect(normaliseChip('Zorblax 9000', { kind: 'cpu' })).toEqual({ chip: 'zorblax-9000', kind: 'cpu', vendor: 'unknown' });
    expect(slugChip('  A/B  c__D ')).toBe('a-b-c-d');
  });

  it('reads names in NFKC: full-width and compatibility forms are their plain letters, marks ® ™ are noise, accents are dropped (a trial: full-width real chip names became `unknown`)', () => {
    expect(normaliseChip('ＮＶＩＤＩＡ Ａ１００')).toEqual({ chip: 'nvidia-a100', kind: 'gpu', vendor: 'NVIDIA' });
    expect(normaliseChip('Ｒａｓｐｂｅｒｒｙ Ｐｉ ４').chip).toBe('rpi4-cortex-a72');
    expect(normaliseChip('Intel® Xeon™ Platinum 8380')).toEqual(normaliseChip('Intel(R) Xeon(R) Platinum 8380'));
    expect(normaliseChip('ＮＰＵ　３．０').chip).toBe('npu-3-0');
    expect(normaliseChip('Zörblax 9000').chip).toBe('zorblax-9000');
  });

  it('keeps names of another script apart: the slug gains a tag of the text (they had all slugged to their digits, or to `unknown`)', () => {
    // The tag is `u` and the first 8 hex digits of SHA-256 over the NFKC text (computed independently here).
    const tag = (s: string) => `u${createHash('sha256').update(s).digest('hex').slice(0, 8)}`;
    expect(slugChip('昇腾 910B')).toBe(`910b-${tag('昇腾 910B')}`);
    expect(slugChip('寒武纪')).toBe(tag('寒武纪'));
    const ids = ['昇腾 910B', '昆仑 910B', '寒武纪', '燧原'].map((n) => normaliseChip(n).chip);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
    // Latin names are as before: no tag.
    expect(slugChip('NPU 3.0')).toBe('npu-3-0');
  });
});

describe('parseMlperf on the real data (data/mlperf-inference/)', () => {
  /** The systems whose id and description disagree (read off the systems files by hand: data/mlperf-singlestream/README.md). */
  const CONFLICTING = ['v2.0/open/Krai/odroid-armnn-v21.11-neon', 'v2.0/open/Krai/odroid-armnn-v21.11-opencl', 'v2.0/open/Krai/odroid-tflite-v2.7.1-ruy', 'v2.0/open/Krai/rpi3-tflite-v2.7.1-ruy'];
  const files = fs.readdirSync(DATA).filter((f) => f.endsWith('.csv')).sort();
  const runs = files.filter((f) => f.startsWith('runs_v')).map((f) => read(DATA, f));
  const systems = files.filter((f) => f.startsWith('systems_v')).map((f) => read(DATA, f));
  const r = parseMlperf(runs, systems);

  // Independent count: runs files hold no quotes, so a plain split is exact.
  const lines = runs.flatMap((f) => {
    expect(f.text.includes('"')).toBe(false);
    const [head, ...body] = f.text.split('\n').filter((l) => l !== '');
    const cols = head!.split(',');
    const at = (name: string): number => cols.indexOf(name);
    return body.map((l) => l.split(',')).map((c) => ({
      system: [c[at('mlperf_version')], c[at('division')], c[at('submitter')], c[at('system_id')]].join('/'),
      model: c[at('model')]!,
      scenario: c[at('scenario')]!,
    }));
  });
  const single = lines.filter((l) => l.scenario === 'SingleStream');

  it('imports every SingleStream run or reports it as a problem, and reads every line', () => {
    expect(runs.map((f) => f.file)).toEqual(['runs_v1.1.csv', 'runs_v2.0.csv', 'runs_v2.1.csv', 'runs_v3.0.csv', 'runs_v4.1.csv']);
    const runProblems = r.problems.filter((p) => p.file.startsWith('runs_')).length;
    expect(single).toHaveLength(4919); // data/mlperf-inference/README.md, Coverage
    const skipped = Object.fromEntries(r.runsSkipped.map((s) => [s.reason, s.count]));
    const variants = skipped['another accuracy target (-99 / -99.9) of a model already imported for this system']!;
    // 75 systems ran both 3d-unet-99 and 3d-unet-99.9 (the -99 / -99.9 pairs of one network); one row each is kept.
    expect(variants).toBe(75);
    // Four v2.0 open systems contradict themselves (their SingleStream runs counted here by the plain split).
    const contradicting = Object.keys(skipped).filter((k) => k.startsWith('run(s) of system '));
    const contradicted = contradicting.reduce((n, k) => n + skipped[k]!, 0);
    expect(contradicted).toBe(single.filter((l) => CONFLICTING.includes(l.system)).length);
    expect(r.benchmark.length + runProblems + variants + contradicted).toBe(single.length);
    expect(r.benchmark).toHaveLength(4478);
    expect(r.problems).toEqual([]);
    expect(r.runsRead).toBe(lines.length);
    expect(r.runsRead).toBe(10369);
    expect(Object.fromEntries(Object.entries(skipped).filter(([k]) => !contradicting.includes(k)))).toEqual({ 'scenario=Offline': 3220, 'scenario=Server': 1928, 'scenario=MultiStream': 302, 'another accuracy target (-99 / -99.9) of a model already imported for this system': 75 });
    expect(contradicting.map((k) => /^run\(s\) of system "([^"]+)"/.exec(k)![1]).sort()).toEqual(CONFLICTING);
    expect(skipped['run(s) of system "v2.0/open/Krai/odroid-armnn-v21.11-opencl": its id "odroid-armnn-v21.11-opencl" names Odroid but its description NVIDIA Jetson Xavier ("NVIDIA Jetson AGX Xavier"); its chip cannot be told']).toBe(94);
    expect(r.systems).toBe(798);
  });

  it('puts no run of a system that contradicts itself on a chip (a trial: an Odroid\'s MobileNet ranked on the Jetson AGX Xavier)', () => {
    expect(r.benchmark.filter((b) => CONFLICTING.includes(b.system))).toEqual([]);
    // The closed division's Odroid (the same ids, described as an Odroid N2+) is kept, on its own chips.
    const odroid = new Set(r.benchmark.filter((b) => b.system.startsWith('v2.0/closed/Krai/odroid-')).map((b) => b.chip));
    expect([...odroid].sort()).toEqual(['amlogic-s922x', 'arm-mali-g52-mp6']);
    expect(r.benchmark.some((b) => b.chip === 'jetson-agx-xavier' && b.system.includes('odroid'))).toBe(false);
  });

  it('loses no (system, model): the imported rows are exactly the distinct (system, model) of the SingleStream lines, once each', () => {
    const imported = r.benchmark.map((b) => `${b.system}|${b.model_id}`);
    expect(new Set(imported).size).toBe(imported.length);
    expect(new Set(imported)).toEqual(new Set(single.filter((l) => !CONFLICTING.includes(l.system)).map((l) => `${l.system}|${mlperfModelId(l.model)}`)));
  });

  it('gives every row a chip of the catalogue, and merges the known spellings', () => {
    const ids = new Set(r.chips.map((c) => c.chip));
    for (const b of r.benchmark) expect(ids.has(b.chip)).toBe(true);
    const byId = new Map(r.chips.map((c) => [c.chip, c]));
    expect(byId.get('jetson-agx-orin')!.names).toEqual(['NVIDIA Jetson AGX Orin', 'NVIDIA Jetson AGX Orin 64G', 'NVIDIA Orin']);
    expect(byId.get('nvidia-a100')!.names).toContain('NVIDIA A100-SXM4-80GB');
    expect(byId.get('nvidia-a100')!.names).toContain('NVIDIA A100-PCIe-80GB');
    expect(r.chips).toHaveLength(92);
    expect(new Set(r.chips.flatMap((c) => c.names)).size).toBe(r.chips.reduce((s, c) => s + c.names.length, 0));
  });

  it('writes only chips the catalog rules accept (`chips list` had refused the multi-node nvidia-a100+nvidia-a30 on every call)', () => {
    const rows = r.chips.map((c) => ({ ...c, peak_ops_per_s: null, memory_bw_bytes_s: null, power_w: null, price_per_hour: null }));
    expect(rows.map((c) => c.chip)).toContain('nvidia-a100+nvidia-a30');
    expect(validChips(rows)).toEqual({ chips: rows, invalid: [] });
  });
});
