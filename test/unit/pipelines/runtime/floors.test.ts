import { describe, expect, it } from 'vitest';
import { MAX_FLOOR_SHIFT, packFloors, unpackFloors } from '../../../../pipelines/runtime/floors.ts';

const E = 'analytics.enriched.v1';
const L = 'analytics.late-events.v1';

describe('packFloors / unpackFloors (a checkpoint\'s output floors, compact at any partition count)', () => {
  it('packs each topic as partitions, shift, base-36 lowest floor and steps ("" for 0), and unpacks them exactly at shift 0', () => {
    const floors = new Map([[`${E}:0`, 1000], [`${E}:1`, 1036], [`${E}:2`, 1000], [`${L}:0`, 7]]);
    expect(packFloors(floors, 0)).toEqual({ [E]: '3:0:rs:,10,', [L]: '1:0:7:' });
    expect(unpackFloors(packFloors(floors, 0))).toEqual(floors);
  });

  it('lowers each floor by less than 2^shift, never raises one; at shift 53 each topic keeps its lowest floor', () => {
    const floors = new Map<string, number>();
    for (let p = 0; p < 64; p++) floors.set(`${E}:${p}`, 4_000_000_000 + p * 7_919_123 + (p % 3) * 511);
    for (const shift of [1, 9, 20, 40]) {
      const back = unpackFloors(packFloors(floors, shift))!;
      for (const [k, f] of floors) {
        expect(back.get(k)!, `${k} at shift ${shift}`).toBeLessThanOrEqual(f);
        expect(back.get(k)!, `${k} at shift ${shift}`).toBeGreaterThan(f - 2 ** shift);
      }
    }
    expect(packFloors(floors, MAX_FLOOR_SHIFT)).toEqual({ [E]: `64:53:${(4_000_000_000).toString(36)}:` });
    expect(new Set(unpackFloors(packFloors(floors, MAX_FLOOR_SHIFT))!.values())).toEqual(new Set([4_000_000_000]));
  });

  it('gives a partition the map lacks floor 0, and none to a partition past the packed count (a restart scans those from 0)', () => {
    const back = unpackFloors(packFloors(new Map([[`${E}:0`, 50], [`${E}:2`, 60]]), 0))!;
    expect([...back]).toEqual([[`${E}:0`, 50], [`${E}:1`, 0], [`${E}:2`, 60]]);
  });

  it('reads nothing from a garbled or foreign text (null: the outputs are then scanned from their start)', () => {
    for (const text of ['', '2:0:a', '2:0:a:1', '2:0:A:,1', '0:0:a:', '2:54:a:', '2:x:a:', '2:0::', 'x:0:a:', '1:0:zzzzzzzzzzzzzz:', 17]) {
      expect(unpackFloors({ [E]: text }), JSON.stringify(text)).toBeNull();
    }
  });

  it('refuses a shift outside 0 … 53', () => {
    expect(() => packFloors(new Map(), 54)).toThrow(new RangeError('shift: expected an integer in 0 … 53, got 54'));
    expect(() => packFloors(new Map(), 1.5)).toThrow(RangeError);
  });
});
