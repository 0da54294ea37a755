/**
 * The demo writes the shipped chip catalog (data/chips/edge-chips.csv) with `keepStored`: it adds chips and
 * figures the warehouse lacks and never undoes a user's `chips import` (a trial: a Pi 4 price set by hand went
 * back to the shipped one at the next demo). Expected values are the CSV's and the rows written here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_CHIPS_CSV, importChips } from '../../services/cli/predictor.ts';
import { loadCatalog } from '../../services/predictor/evidence.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('the demo\'s shipped catalog over a catalog a user edited', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('democat');
    // The user's edits: a price for the Pi 4 (shipped 0.00305) and for the AI 100 (shipped blank), and a chip of their own.
    await w.insert(`${w.database}.chips`, [
      { chip: 'rpi4-cortex-a72', kind: 'cpu', vendor: 'Broadcom', names: ['my pi'], peak_ops_per_s: null, memory_bw_bytes_s: null, power_w: null, price_per_hour: 0.01 },
      { chip: 'qualcomm-ai100-dm2e', kind: 'npu', vendor: 'Qualcomm', names: [], peak_ops_per_s: null, memory_bw_bytes_s: null, power_w: null, price_per_hour: 0.05 },
      { chip: 'my-npu', kind: 'npu', vendor: 'Me', names: [], peak_ops_per_s: 1e12, memory_bw_bytes_s: null, power_w: null, price_per_hour: 0.2 },
    ]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('keeps every figure the user set, fills the ones they did not, and adds the shipped chips', async () => {
    const r = await importChips(w, EDGE_CHIPS_CSV, { keepStored: true });
    expect([r.written, r.added, r.problems]).toEqual([6, 4, []]);
    const by = new Map((await loadCatalog(w)).map((c) => [c.chip, c]));
    expect(by.get('rpi4-cortex-a72')).toMatchObject({ price_per_hour: 0.01, peak_ops_per_s: 48e9, memory_bw_bytes_s: 12.8e9, power_w: 6.4 });
    expect(by.get('rpi4-cortex-a72')!.names).toEqual(['BCM2711 4x Cortex-A72', 'arm-cortex-a72x4', 'my pi']);
    expect(by.get('qualcomm-ai100-dm2e')).toMatchObject({ price_per_hour: 0.05, peak_ops_per_s: 70e12 });
    expect(by.get('my-npu')).toMatchObject({ price_per_hour: 0.2, peak_ops_per_s: 1e12 });
    expect(by.get('jetson-agx-orin')).toMatchObject({ price_per_hour: 0.08507, peak_ops_per_s: 275e12 });
    expect(by.size).toBe(7);
    // `chips import` itself (no keepStored) is how a user puts the shipped figures back.
    await importChips(w, EDGE_CHIPS_CSV);
    expect((await loadCatalog(w)).find((c) => c.chip === 'rpi4-cortex-a72')!.price_per_hour).toBe(0.00305);
  });
});
