/**
 * `import benchmark --format mlperf` writes the chips it finds (kind, vendor, raw names) into
 * table `chips`. A breaker trial: it wrote them with no specs or price, so the README's MLPerf import
 * blanked the price and specs that `chips import` had stored for the same chips. Now a stored chip
 * keeps them and gains the raw names, and a re-import changes nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBenchmark } from '../../services/cli/benchmark.ts';
import { importChips } from '../../services/cli/predictor.ts';
import { loadCatalog } from '../../services/predictor/evidence.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const MLPERF = { format: 'mlperf', runs: ['test/fixtures/mlperf/runs_fixture.csv'], systems: ['test/fixtures/mlperf/systems_fixture.csv'] } as const;

describe('import benchmark --format mlperf and the chip catalog', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('mlchips');
  });
  afterAll(async () => {
    await w.close();
  });

  it('keeps the stored kind, vendor, specs and price of a chip it finds, adds its raw names, and writes new chips as found', async () => {
    const csv = join(mkdtempSync(join(tmpdir(), 'edgelat-chips-')), 'chips.csv');
    writeFileSync(csv, 'chip,kind,vendor,names,peak_ops_per_s,memory_bw_bytes_s,power_w,price_per_hour\njetson-agx-orin,gpu,NVIDIA (catalog),My Orin,2.75e14,2.048e11,60,0.35\n');
    expect(await importChips(w, csv)).toEqual({ written: 1, added: 1, problems: [], claims: [] });
    const first = await importBenchmark(w, { ...MLPERF, runs: [...MLPERF.runs], systems: [...MLPERF.systems] });
    expect(first.chips).toBe(5);
    const catalog = await loadCatalog(w);
    const orin = catalog.find((c) => c.chip === 'jetson-agx-orin')!;
    expect(orin).toEqual({
      chip: 'jetson-agx-orin', kind: 'gpu', vendor: 'NVIDIA (catalog)', names: ['My Orin', 'NVIDIA Jetson AGX Orin', 'NVIDIA Orin'],
      peak_ops_per_s: 2.75e14, memory_bw_bytes_s: 2.048e11, power_w: 60, price_per_hour: 0.35,
    });
    // The other chips are new: as found, without specs.
    expect(catalog.filter((c) => c.chip !== 'jetson-agx-orin').map((c) => [c.peak_ops_per_s, c.memory_bw_bytes_s, c.power_w, c.price_per_hour]))
      .toEqual(Array.from({ length: 4 }, () => [null, null, null, null]));
    await importBenchmark(w, { ...MLPERF, runs: [...MLPERF.runs], systems: [...MLPERF.systems] });
    expect(await loadCatalog(w)).toEqual(catalog);
  });

  it('writes rows that win over a row written by hand with a later updated_at (a row stamped now had lost to it while the import said "wrote")', async () => {
    await w.exec(`INSERT INTO ${w.database}.chips (chip, kind, vendor, names, price_per_hour, updated_at) VALUES ('hand-npu', 'npu', 'Hand', [], 9, '2099-01-01 00:00:00.000')`);
    const csv = join(mkdtempSync(join(tmpdir(), 'edgelat-chips-')), 'chips.csv');
    writeFileSync(csv, 'chip,kind,vendor,price_per_hour\nhand-npu,,,0.5\n');
    expect(await importChips(w, csv)).toEqual({ written: 1, added: 0, problems: [], claims: [] });
    expect((await loadCatalog(w)).find((c) => c.chip === 'hand-npu')).toMatchObject({ vendor: 'Hand', price_per_hour: 0.5 });
    const [stamp] = await w.query<{ t: string }>(`SELECT toString(max(updated_at)) AS t FROM ${w.database}.chips`);
    expect(stamp!.t).toBe('2099-01-01 00:00:00.001');
    // The MLPerf import's rows follow the newest stamp too.
    await importBenchmark(w, { ...MLPERF, runs: [...MLPERF.runs], systems: [...MLPERF.systems] });
    const [after] = await w.query<{ t: string; n: string }>(`SELECT toString(max(updated_at)) AS t, toString(countIf(updated_at = max_t)) AS n FROM ${w.database}.chips, (SELECT max(updated_at) AS max_t FROM ${w.database}.chips) AS m`);
    expect(after).toEqual({ t: '2099-01-01 00:00:00.002', n: '5' });
  });
});
