/**
 * The gate's text report (`edgelat gate` without --json): a band whose top no replay bounds
 * (the queue cannot drain at the pushed factor; null in JSON) reads "unbounded", not "-".
 */
import { describe, expect, it } from 'vitest';
import { formatReport, inFlagTerms, serverList } from '../../../services/cli/gate.ts';
import type { GateReport } from '../../../services/predictor/gate-evidence.ts';

const SERVER: GateReport['servers'][number] = {
  server: 'edge-05', version_now: 'v1', chip_now: 'jetson-agx-orin', answer: 'BLOCK', reason: 'p99 at peak 297145.9 ms (at least 217394.3 ms) breaches the SLO 100.0 ms', slo_p99_ms: 100,
  now_p99_ms: 7.2, predicted_p99_ms: 297145.9, p99_low_ms: 217394.3, p99_high_ms: null, peak: { start_ms: 1717236420000, end_ms: 1717236720000, requests: 900, model_requests: 500 }, offered_utilisation: 0.97,
  factor: { compute: 400, io: 3, io_offset_ms: 0, spread: 1, log_sd: 0.15, io_uncertain: true, sources: ['chip: benchmark'] }, measured: null, target_workers: null,
};

describe('gate text report', () => {
  it('prints an unbounded band top as "unbounded", a bounded one in ms, and the i/o note of a version change', () => {
    const report: GateReport = { model: 'resnet50', version: 'v1', chip: 'rpi4-cortex-a72', answer: 'BLOCK', exit_code: 1, slo_p99_ms: 100, servers: [SERVER], left_out: [] };
    expect(formatReport(report)).toContain('with the candidate 297145.9 ms [217394.3 ms, unbounded];');
    // The header's SLO: the usual digits where they hold it, else as given (a trial: 10.39 read "10.4 ms").
    expect(formatReport(report).split('\n')[0]).toBe('BLOCK: resnet50 v1 on rpi4-cortex-a72, p99 SLO 100.0 ms at peak load (exit 1)');
    expect(formatReport({ ...report, slo_p99_ms: 10.39 }).split('\n')[0]).toBe('BLOCK: resnet50 v1 on rpi4-cortex-a72, p99 SLO 10.39 ms at peak load (exit 1)');
    const bounded = formatReport({ ...report, servers: [{ ...SERVER, p99_high_ms: 400000, factor: { ...SERVER.factor!, io_uncertain: false } }] });
    expect(bounded).toContain('[217394.3 ms, 400000.0 ms];');
    expect(bounded).toContain('(log-sd 0.150 on the compute; the i/o as measured)');
    // A factor below 0.1 keeps 3 significant digits (a trial: resnet50 odroid → orin printed "×0.002 compute").
    const small = formatReport({ ...report, servers: [{ ...SERVER, factor: { ...SERVER.factor!, compute: 0.0024579, io: 0.297, log_sd: 0.00234 } }] });
    expect(small).toContain('service time ×0.00246 compute, ×0.297 i/o (log-sd 0.00234): chip: benchmark');
  });

  it('prints the workers\' busy fraction with the candidate, and a saturated candidate next to the p99 of what runs now', () => {
    const report: GateReport = { model: 'resnet50', version: 'v1', chip: 'rpi4-cortex-a72', answer: 'BLOCK', exit_code: 1, slo_p99_ms: 100, servers: [SERVER], left_out: [] };
    expect(formatReport(report)).toContain('; peak 2024-06-01T10:07:00.000Z to 10:12:00.000Z (the server\'s busiest window by requests; 500 requests of the model, failed ones included); with it the workers are 97.0 % busy (the busiest busy period of the days replayed)\n');
    // A window across midnight (UTC) gives its end's date too.
    const night = formatReport({ ...report, servers: [{ ...SERVER, peak: { ...SERVER.peak!, start_ms: Date.UTC(2024, 5, 1, 23, 58), end_ms: Date.UTC(2024, 5, 2, 0, 3) } }] });
    expect(night).toContain('; peak 2024-06-01T23:58:00.000Z to 2024-06-02T00:03:00.000Z (the server\'s busiest window by requests;');
    // After a move to a new device: its workers and where the count came from (a trial: an assumed 1 went unsaid).
    const moved = (source: 'fleet' | 'given' | 'assumed') => formatReport({ ...report, servers: [{ ...SERVER, target_workers: { count: source === 'given' ? 2 : 1, source } }] }).split('\n')[2];
    expect(moved('assumed')).toContain('; with it the 1 worker(s) of a new rpi4-cortex-a72 device (assumed: no server of it reports its concurrency, so the band\'s bottom has no queue there; --workers sets it) are 97.0 % busy');
    expect(moved('given')).toContain('; with it the 2 worker(s) of a new rpi4-cortex-a72 device (as --workers gives) are 97.0 % busy');
    expect(moved('fleet')).toContain('; with it the 1 worker(s) of a new rpi4-cortex-a72 device (as its servers report) are 97.0 % busy');
    const saturated = { ...SERVER, predicted_p99_ms: null, p99_low_ms: null, p99_high_ms: null, offered_utilisation: 1.9876 };
    expect(formatReport({ ...report, servers: [saturated] }).split('\n')[2])
      .toBe('    p99 at peak now 7.20 ms, with the candidate saturated (its requests need 1.99× the workers\' time); peak 2024-06-01T10:07:00.000Z to 10:12:00.000Z (the server\'s busiest window by requests; 500 requests of the model, failed ones included)');
  });

  it('names the servers not gated by default, with their newest request', () => {
    const report: GateReport = { model: 'resnet50', version: 'v1', chip: 'rpi4-cortex-a72', answer: 'BLOCK', exit_code: 1, slo_p99_ms: 100, servers: [SERVER], left_out: [{ server: 'edge-03', newest_ms: 1717236000000 }, { server: 'edge-06', newest_ms: 1717236001500 }] };
    expect(formatReport(report).split('\n').at(-2)).toBe('  not gated: edge-03 (its newest request of resnet50 2024-06-01T10:00:00.000Z), edge-06 (its newest request of resnet50 2024-06-01T10:00:01.500Z): '
      + 'older than the lookback before the fleet\'s newest; name them with --servers to gate them');
  });

  it('says what measured the candidate: an earlier rollout, it running now, or a shadow', () => {
    const measured = { p99_ms: 6.47, start_ms: 1717236420000, end_ms: 1717236720000, model_requests: 825 };
    const line = (source: 'rollout' | 'running' | 'shadow') =>
      formatReport({ model: 'resnet50', version: 'v1', chip: 'jetson-agx-orin', answer: 'BLOCK', exit_code: 1, slo_p99_ms: 6, servers: [{ ...SERVER, measured: { ...measured, source } }], left_out: [] })
        .split('\n').find((l) => l.includes('measured here'));
    expect(line('shadow')).toBe('    measured here by a shadow beside the server (the same requests): p99 at peak 6.47 ms (2024-06-01T10:07:00.000Z, 825 requests of the model)');
    expect(line('running')).toBe('    measured here running now: p99 at peak 6.47 ms (2024-06-01T10:07:00.000Z, 825 requests of the model)');
    expect(line('rollout')).toBe('    measured here by an earlier rollout of the candidate: p99 at peak 6.47 ms (2024-06-01T10:07:00.000Z, 825 requests of the model)');
  });
});

describe('gate errors in the CLI\'s words', () => {
  it('names the flags that set the request\'s fields, not the HTTP body\'s names', () => {
    const macs = 'macs: "edge-04" runs bert-99 v1 now, so its MACs are the running version\'s (macs_now); the MACs given (5000000000) describe a new version: give that version\'s own id';
    expect(inFlagTerms(macs)).toBe('--macs: "edge-04" runs bert-99 v1 now, so its MACs are the running version\'s (--macs-now); the MACs given (5000000000) describe a new version: give that version\'s own id');
    // MACs profiled from --onnx: the message names the file the user gave.
    expect(inFlagTerms(macs, { macs: '--onnx "v2.onnx"' })).toMatch(/^--onnx "v2.onnx": "edge-04" runs bert-99 v1 now, .*\(--macs-now\)/);
    expect(inFlagTerms('chip: unknown chip "x" (known: a, b)')).toBe('--chip: unknown chip "x" (known: a, b)');
    expect(inFlagTerms('servers: "edge-99" has no request of "m"')).toBe('--servers: "edge-99" has no request of "m"');
    expect(inFlagTerms('macs_now: the running version\'s MACs (macs_now 8000000000) are only the other side of a MACs ratio: give the new version\'s (macs) too'))
      .toBe('--macs-now: the running version\'s MACs (--macs-now 8000000000) are only the other side of a MACs ratio: give the new version\'s (--macs) too');
    // A model id or message word that merely looks like a field stays as it is.
    expect(inFlagTerms('model: no request of "macs" in edgelat.inference_enriched (models: none)')).toBe('--model: no request of "macs" in edgelat.inference_enriched (models: none)');
    expect(inFlagTerms('warehouse: down')).toBe('warehouse: down');
    // An item of --servers by its id, not its index in the merged list (a trial: `servers[1]: …` on the CLI).
    expect(inFlagTerms('servers[1]: expected an id without control characters, got "edge\\t04"', {}, ['edge-04', 'edge\t04']))
      .toBe('--servers "edge\\t04": expected an id without control characters, got "edge\\t04"');
    expect(inFlagTerms('servers[5]: expected an id', {}, ['a'])).toBe('servers[5]: expected an id');
  });
});

describe('--servers', () => {
  it('splits at commas, ignores blanks around them, merges repeats, and refuses an empty entry (a trial: "edge-04,,edge-09" was edge-04 and edge-09)', () => {
    expect(serverList(' edge-04 , edge-09', ['edge-01', 'edge-04'])).toEqual(['edge-01', 'edge-04', 'edge-09']);
    // A blank value is the empty list: the gate refuses it naming --servers (whatif.test.ts), as over HTTP.
    expect(serverList(' ')).toEqual([]);
    for (const v of ['edge-04,,edge-09', 'edge-04,', ',edge-04', 'edge-04, ,edge-09']) {
      expect(() => serverList(v), v).toThrow(`--servers has an empty server id in ${JSON.stringify(v)}`);
    }
  });

  it('takes at most 1024 distinct ids, as POST /v1/gate (a trial: 2,000 taken here, refused there); repeats count once', () => {
    const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `edge-${from + i}`).join(',');
    expect(serverList(ids(1024))).toHaveLength(1024);
    expect(serverList(`${ids(1024)},${ids(10)}`)).toHaveLength(1024);
    expect(() => serverList(ids(1025))).toThrow('--servers: at most 1024 server ids, got 1025');
    expect(() => serverList(ids(2), serverList(ids(1024, 2)))).toThrow('--servers: at most 1024 server ids, got 1026');
  });
});
