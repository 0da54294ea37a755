/**
 * Chips no production server runs the model on. Known only from the catalog (`chips import` of its peak
 * ops/s): a trial imported one and found every command skip it; the recommender now moves the model's
 * latency from the chips it was measured on by their peaks (`scaleByPeakOps`) and says it is a rough
 * estimate. Measured by shadows only: a trial found such a chip ranked first on its benchmark (no i/o)
 * where its shadows had measured it; its shadows' requests now give its service time. Expected values are
 * worked out by hand from the rows (closed forms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherCandidates } from '../../services/predictor/candidates.ts';
import { recommendChips } from '../../services/predictor/recommend.ts';
import { Z90 } from '../../services/predictor/queueing-law.ts';
import type { ModelProfile } from '../../services/profiler/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { at, makeEnriched } from '../helpers/factories.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';

const chipRow = (chip: string, kind: string, peak: number | null) => ({ chip, kind, vendor: 'V', names: [], peak_ops_per_s: peak, memory_bw_bytes_s: null, power_w: null, price_per_hour: null });
const bench = (chip: string, percentile: number, ms: number) => ({ source: 'test', model_id: 'resnet50', device: chip, chip, batch: 1, scenario: 'SingleStream', percentile, latency_ms: ms, system: `${chip}-sys` });

describe('a chip known only from the catalog', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('catalogchip');
    await w.insert(`${w.database}.chips`, [chipRow('gpu-a', 'gpu', 1e12), chipRow('gpu-b', 'gpu', 4e12), chipRow('npu-c', 'npu', 1e13), chipRow('new-gpu', 'gpu', 5e12), chipRow('fast-gpu', 'gpu', 2e13), chipRow('bare', 'npu', null)]);
    // resnet50: p50 10 ms on gpu-a (1e12), 5 ms on gpu-b (4e12), 1 ms on npu-c (1e13): latency × peak 1e13, 2e13, 1e13 (ms · ops/s).
    await w.insert(`${w.database}.benchmark_latency`, [bench('gpu-a', 0.5, 10), bench('gpu-a', 0.9, 11), bench('gpu-b', 0.5, 5), bench('gpu-b', 0.9, 5.5), bench('npu-c', 0.5, 1), bench('npu-c', 0.9, 1.1)]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('moves the model from the chips it was measured on by their peaks, ranks it after measured chips that meet the SLO, and still skips a chip without a peak', async () => {
    const { candidates, skipped } = await gatherCandidates(w, { model: 'resnet50', rps: 1, chips: ['new-gpu', 'gpu-b', 'fast-gpu', 'bare'] });
    const guess = candidates.find((c) => c.chip.chip === 'new-gpu')!;
    expect(guess.evidence.kind).toBe('catalog');
    // All three chips: the median of ln 1e13, ln 2e13 and ln 1e13 is ln 1e13, over 5e12 ops/s: 2 ms.
    expect(guess.service.computeMedianMs).toBeCloseTo(1e13 / 5e12, 12);
    expect(guess.service.ioMs).toBe(0);
    expect(guess.basis).toBe(`the chip catalog's peak ops/s (5.00e+12) against the 3 chip(s) it was measured on (gpu-a, gpu-b, npu-c: median of latency × peak ops/s); the model was not measured on this chip: a rough estimate, compute ×2.3 at one sd; no i/o measured anywhere, taken as 0`);
    expect(guess.evidence.estimate_log_sd).toBe(0.84);
    expect(skipped).toEqual([{ chip: 'bare', reason: expect.stringMatching(/^no fleet requests or benchmark rows of "resnet50" on this chip.*; nor a peak_ops_per_s in the chip catalog to estimate it from/) }]);
    const r = recommendChips({ model: 'resnet50', slo: { percentile: 0.99, ms: 50 }, rps: 1 }, candidates, skipped);
    // Twice the fastest chip's peak (npu-c's 1e13): 0.5 ms, a lower bound that "may miss" even an easy SLO.
    const fast = candidates.find((c) => c.chip.chip === 'fast-gpu')!;
    expect(fast.service.computeMedianMs).toBeCloseTo(0.5, 12);
    expect(fast.basis).toMatch(/; its peak is 2\.00× the fastest of those chips', and fixed costs do not shrink with peak ops\/s: a lower bound$/);
    expect(r.chips.map((c) => [c.chip, c.meets_slo, c.evidence.kind])).toEqual([['gpu-b', true, 'benchmark'], ['new-gpu', true, 'catalog'], ['fast-gpu', false, 'catalog']]);
    expect(r.chips[2]!.reason).toMatch(/^may miss p99 50\.0 ms .*; the estimate meets the SLO, but it is a lower bound: counted as a miss$/);
    expect(r.chips[1]!.reason).toMatch(/^meets p99 50\.0 ms at 1 req\/s: p99 [\d.]+ ms, predicted from the chip catalog's peak ops\/s/);
  });
});

describe('rows written past the imports (sql --write)', () => {
  it('skips a chip whose catalog row breaks the rules, naming it, and leaves out a benchmark latency at or below 0 (a trial: "$/1M -46.30"; a -3 ms row failed every recommend of the model)', async () => {
    const w = await createTestDatabase('pastimport');
    try {
      await w.insert(`${w.database}.chips`, [{ ...chipRow('gpu-a', 'gpu', 1e12), price_per_hour: 1 }, { ...chipRow('cheap', 'gpu', 1e12), price_per_hour: -1 }]);
      await w.insert(`${w.database}.benchmark_latency`, [bench('gpu-a', 0.5, 10), bench('gpu-a', 0.9, 11), bench('cheap', 0.5, 10), bench('cheap', 0.9, 11), { ...bench('gpu-a', 0.9, -3), system: 'bad-sys' }]);
      const { candidates, skipped } = await gatherCandidates(w, { model: 'resnet50', rps: 1 });
      expect(skipped).toEqual([{ chip: 'cheap', reason: expect.stringMatching(/^its catalog row breaks the catalog's rules \(.*price_per_hour.*-1.*\): fix it with `edgelat chips import` or sql --write$/) }]);
      // gpu-a from its two good rows: p50 10 ms, p90 11 ms (the -3 ms row of another system is left out).
      const a = candidates.find((c) => c.chip.chip === 'gpu-a')!;
      expect([candidates.length, a.evidence.benchmark_rows]).toEqual([1, 1]);
      expect(a.service.computeMedianMs).toBeCloseTo(10, 9);
      const r = recommendChips({ model: 'resnet50', slo: { percentile: 0.99, ms: 50 }, rps: 1 }, candidates, skipped);
      expect(r.chips.map((c) => c.chip)).toEqual(['gpu-a']);
    } finally {
      await w.close();
    }
  });
});

describe('a chip whose systems ran the model with software stacks far apart', () => {
  it('names the spread and the fastest system in the basis, where the fastest and slowest p90 are more than 3x apart (a trial: a T4 read at 83 ms from reference runs beside TensorRT\'s 6.0 ms)', async () => {
    const w = await createTestDatabase('stackspread');
    try {
      await w.insert(`${w.database}.chips`, [chipRow('t4', 'gpu', 6.5e13), chipRow('a2', 'gpu', 3.6e13)]);
      const sys = (chip: string, system: string, p90: number) => ({ ...bench(chip, 0.9, p90), device: system, system });
      // t4: p90s 6.01, 6.08, 80.8, 90.9, 92.1 (lower median 80.8); a2: 10, 12, 29 (within 3x).
      await w.insert(`${w.database}.benchmark_latency`, [
        sys('t4', 'v3.0/closed/L/T4x1_TRT', 6.01), sys('t4', 'v3.0/closed/D/T4_TRT', 6.08), sys('t4', 'v3.0/open/c/t4-onnxruntime', 80.8),
        sys('t4', 'v3.0/open/c/t4-pytorch', 90.9), sys('t4', 'v3.0/open/c/t4-pytorch-2', 92.1),
        sys('a2', 'v3.0/closed/X/a2-1', 10), sys('a2', 'v3.0/closed/X/a2-2', 12), sys('a2', 'v3.0/closed/X/a2-3', 29),
      ]);
      const { candidates } = await gatherCandidates(w, { model: 'resnet50', rps: 1, chips: ['t4', 'a2'] });
      const basis = (chip: string) => candidates.find((c) => c.chip.chip === chip)!.basis;
      expect(basis('t4')).toMatch(/^benchmarks \(5 systems: the model alone; the systems' p90 range 6\.01–92\.1 ms \(the systems differ in software stack, OS or settings; the fastest: v3\.0\/closed\/L\/T4x1_TRT\)\)/);
      expect(basis('a2')).toMatch(/^benchmarks \(3 systems: the model alone\)/);
    } finally {
      await w.close();
    }
  });
});

describe('a chip the model ran on only as a shadow', () => {
  let w: ChdbWarehouse;
  // 25 shadow results of resnet50 on the Orin: i/o 1.00..1.24 ms, compute 2.00..4.40 ms (step 0.1); 5 failed ones.
  const shadow = (i: number, status = 'ok', version = 'v1') => ({
    event_id: `sh-${status}-${version}-${i}`, request_id: `rq-${i}`, ts: `2024-06-01 10:00:${String(i).padStart(2, '0')}.000`, request_ts: `2024-06-01 10:00:${String(i).padStart(2, '0')}.000`,
    edge_server_id: 'edge-a', device_id: 'edge-a-shadow0', model_id: 'resnet50', model_version: version, chip: 'orin', runtime: 'tensorrt',
    queue_ms: 0, io_ms: 1 + 0.01 * i, compute_ms: status !== 'ok' ? 0.01 : version === 'v1' ? 2 + 0.1 * i : 100, total_ms: 3, status, deployment_id: null, src_partition: 0, src_offset: i,
  });
  beforeAll(async () => {
    w = await createTestDatabase('shadowchip');
    await w.insert(`${w.database}.chips`, [chipRow('orin', 'gpu', 2.75e14), chipRow('xavier', 'gpu', 2.1e13)]);
    await w.insert(`${w.database}.benchmark_latency`, [bench('orin', 0.5, 0.69), bench('orin', 0.9, 0.75), bench('xavier', 0.5, 2.5), bench('xavier', 0.9, 2.8)]);
    await w.insert(`${w.database}.shadow_results`, [...Array.from({ length: 25 }, (_, i) => shadow(i)), ...Array.from({ length: 5 }, (_, i) => shadow(i, 'timeout')),
      // A candidate version on the shadow: another model's cost, left out while production runs v1 (on an rpi, not asked about).
      ...Array.from({ length: 40 }, (_, i) => shadow(i, 'ok', 'v9'))]);
    await w.insert(`${w.database}.inference_enriched`, [SINK_ROUTES[TOPICS.enriched]!.toRow(makeEnriched({ edge_server_id: 'edge-r', chip: 'rpi', model_id: 'resnet50', model_version: 'v1', ts: at('2024-06-01T10:00:00.000Z') }), 0, 0)]);
  }, 60_000);
  afterAll(async () => w?.close());

  /** The model's i/o where measured: its Orin shadows' median, 1.12 ms, and edge-r's request on the rpi, 2 ms; their lower median. */
  const IO_MEDIAN = 1.12;

  it('takes the shadows\' service time (i/o and compute medians, compute p90) before the chip\'s benchmark', async () => {
    const { candidates } = await gatherCandidates(w, { model: 'resnet50', rps: 1, chips: ['orin', 'xavier'] });
    const orin = candidates.find((c) => c.chip.chip === 'orin')!;
    expect(orin.evidence.kind).toBe('shadow');
    expect(orin.basis).toBe('its shadow deployments\' 25 requests on the chip (no production server runs it there)');
    // ClickHouse's quantileExact(0.5) of 25 values is the 13th (index 12): i/o 1.12, compute 3.2 ms.
    expect(orin.service.ioMs).toBeCloseTo(1.12, 12);
    expect(orin.service.ioMs + orin.service.computeMedianMs).toBeCloseTo(1.12 + 3.2, 9);
    const xavier = candidates.find((c) => c.chip.chip === 'xavier')!;
    expect(xavier.evidence.kind).toBe('benchmark');
    // A benchmark times the model alone: the model's i/o measured elsewhere is added (a trial: after an MLPerf
    // import, datacenter chips ranked on 0.13 ms of kernel time above the fleet's chips, whose i/o is ~1 ms).
    expect(xavier.service.ioMs).toBe(IO_MEDIAN);
    // And its kernel time is moved into service as the Orin's was: the Orin's shadows measured compute p50 3.2 ms
    // (p90: rank ⌊0.9·25⌋ + 1 = 23rd, 4.2 ms) against its benchmark's 0.69 ms (p90 0.75 ms), so ×3.2/0.69, and the
    // log-variances add: σ² = σ²_bench,xavier + (σ²_shadow,orin − σ²_bench,orin), σ = ln(p90/p50)/z₀.₉.
    const factor = 3.2 / 0.69;
    const sigma2 = (p50: number, p90: number) => (Math.log(p90 / p50) / Z90) ** 2;
    expect(xavier.service.computeMedianMs).toBeCloseTo(2.5 * factor, 9);
    expect(xavier.service.sigma).toBeCloseTo(Math.sqrt(sigma2(2.5, 2.8) + sigma2(3.2, 4.2) - sigma2(0.69, 0.75)), 9);
    expect(xavier.basis).toBe(`benchmarks (1 system: the model alone); ×${factor.toFixed(2)} and a host spread of σ ${Math.sqrt(sigma2(3.2, 4.2) - sigma2(0.69, 0.75)).toFixed(3)} in service (its compute measured against its benchmarks on 1 chip(s)); i/o ${IO_MEDIAN.toPrecision(3)} ms, the median of its i/o on the fleet's chips`);
  });
});

describe('a known model on a chip where only other reference models were measured', () => {
  let w: ChdbWarehouse;
  const row = (model: string, chip: string, percentile: number, ms: number) => ({ source: 'test', model_id: model, device: chip, chip, batch: 1, scenario: 'SingleStream', percentile, latency_ms: ms, system: `${chip}-sys` });
  beforeAll(async () => {
    w = await createTestDatabase('knownmacs');
    await w.insert(`${w.database}.chips`, [chipRow('npu-z', 'npu', 1e13), chipRow('gpu-y', 'gpu', 1e12)]);
    // resnet50 measured on gpu-y only; on npu-z, mobilenet-v2-int8 (3.00e8 MACs) 2 ms and ssd-mobilenet (1.235e9 MACs) 5 ms.
    await w.insert(`${w.database}.benchmark_latency`, [row('resnet50', 'gpu-y', 0.5, 40), row('resnet50', 'gpu-y', 0.9, 44),
      row('mobilenet-v2-int8', 'npu-z', 0.5, 2), row('mobilenet-v2-int8', 'npu-z', 0.9, 2.2), row('ssd-mobilenet', 'npu-z', 0.5, 5), row('ssd-mobilenet', 'npu-z', 0.9, 5.5)]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('scales it by its published MACs from the references on the chip, before the catalog peak (a trial: mobilenet on the fleet\'s Orin was a catalog guess)', async () => {
    const { candidates } = await gatherCandidates(w, { model: 'resnet50', rps: 1, chips: ['npu-z'] });
    const z = candidates.find((c) => c.chip.chip === 'npu-z')!;
    expect(z.evidence.kind).toBe('predicted');
    // The log-log line through (3e8, 2) and (1.235e9, 5) (slope ln 2.5 / ln(1.235e9/3e8) = 0.648, inside [0.3, 1.2]); 3.9e9 is above
    // the largest reference: in proportion from its 5 ms.
    expect(z.service.computeMedianMs).toBeCloseTo(5 * (3.9e9 / 1.235e9), 9);
    expect(z.basis).toBe('MACs scaling (its published 3.90e+9 MACs) from 2 other reference model(s) measured on the chip; its 3.90e+9 MACs are 3.16× the largest reference\'s 1.24e+9: scaled in proportion from there; i/o unknown (no reference model ran in the fleet), taken as 0');
  });

  it('never predicts a profile faster than the chip\'s catalog peak allows: 2 ops a MAC at its peak ops/s', async () => {
    // A trial: 3.69e12 MACs met p99 100 ms at 74.5 ms on a chip of 70e12 ops/s (at least 105 ms). Here npu-z's references
    // are held to a peak read low (1e10 ops/s, as a wrong catalog row would): the line's 2 ms for 3e8 MACs is under the
    // 60 ms that peak allows, so the compute is 60 ms, said in the basis.
    const profile: ModelProfile = {
      model_id: 'mine', model_version: '1', params: 1, macs: 3e8, flops: 6e8, element_ops: 0, weight_bytes: 4, precision: 'float32', op_histogram: { Conv: 1 },
      inputs: [{ name: 'x', shape: [1, 3, 8, 8], dtype: 'float32', symbolic: [null, null, null, null] }], input_bytes: 768, batch: 1, unknown_shape_nodes: [],
    };
    await w.insert(`${w.database}.chips`, [chipRow('npu-z', 'npu', 1e10)]);
    const { candidates } = await gatherCandidates(w, { model: 'mine', profile, rps: 1, chips: ['npu-z'] });
    const z = candidates.find((c) => c.chip.chip === 'npu-z')!;
    expect(z.service.computeMedianMs).toBeCloseTo((2 * 3e8 / 1e10) * 1000, 9);
    expect(z.basis).toBe('MACs scaling from 2 reference model(s) measured on the chip; held at the chip\'s peak, 2·MACs / 1.00e+10 ops/s = 60.0 ms (the catalog\'s; the line gave 2.00 ms); i/o unknown (no reference model ran in the fleet), taken as 0');
  });
});
