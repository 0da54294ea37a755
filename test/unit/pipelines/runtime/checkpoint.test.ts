import { describe, expect, it } from 'vitest';
import { checkpointFloors, checkpointMetadata, MAX_COMMIT_METADATA_BYTES, parseCheckpoint, settingsDiff, type Checkpoint } from '../../../../pipelines/runtime/checkpoint.ts';
import { packFloors } from '../../../../pipelines/runtime/floors.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';

describe('settingsDiff (a refusal names the settings a restart changed)', () => {
  it('lists each key whose value differs, in either object, with both values as JSON', () => {
    expect(settingsDiff('{"sizeMs":300000,"slideMs":60000}', '{"sizeMs":60000,"slideMs":60000}')).toBe('sizeMs 300000 there, 60000 here');
    expect(settingsDiff('{"a":1,"alerts":{"threshold":0.7}}', '{"a":1,"alerts":{"threshold":0.8},"b":"x"}')).toBe('alerts {"threshold":0.7} there, {"threshold":0.8} here; b unset there, "x" here');
    expect(settingsDiff('{"sloP99Ms":null}', '{}')).toBe('sloP99Ms null there, unset here');
  });

  it('is empty for the same settings and null where either is not a JSON object', () => {
    expect(settingsDiff('{"a":1}', '{"a":1}')).toBe('');
    expect(settingsDiff('not json', '{"a":1}')).toBeNull();
    expect(settingsDiff('[1]', '{"a":1}')).toBeNull();
  });
});

describe('checkpointMetadata (Kafka refuses commit metadata over 4096 bytes by default)', () => {
  const noFloors = new Map<string, number>();

  it('carries the settings\' JSON while the whole stays within 3072 UTF-8 bytes, else leaves it out', () => {
    const settings = '{"sizeMs":300000}';
    expect(JSON.parse(checkpointMetadata({ maxTs: 1 }, noFloors, settings).metadata)).toEqual({ maxTs: 1, packedFloors: {}, settingsJson: settings });
    expect(checkpointMetadata({ maxTs: 1 }, noFloors, undefined).metadata).toBe('{"maxTs":1,"packedFloors":{}}');
    // Lanes of 2 bytes per character: 1,520 "é" take 3,040 bytes (1,520 characters): with the settings over the limit in bytes, not in characters.
    const big = { maxTs: 1, lanes: { a: ['é'.repeat(1520)] } };
    expect(Buffer.byteLength(JSON.stringify({ ...big, settingsJson: settings }), 'utf8')).toBeGreaterThan(3072);
    expect(JSON.stringify({ ...big, settingsJson: settings }).length).toBeLessThan(3072);
    expect(JSON.parse(checkpointMetadata(big, noFloors, settings).metadata)).toEqual({ ...big, packedFloors: {} });
  });

  /** A join's checkpoint of input partition 7 (lanes, watermarks, reads, settings) and floors of 10-digit offsets over `n` partitions of its two output topics. */
  function joinCheckpoint(n: number): { cp: Checkpoint; floors: Map<string, number> } {
    const floors = new Map<string, number>();
    for (let p = 0; p < n; p++) {
      // Up to 10 digits, spread over the whole range (a partition with few records beside ones with billions).
      floors.set(`${TOPICS.enriched}:${p}`, (p * 2_654_435_761) % 9_999_999_967);
      floors.set(`${TOPICS.late}:${p}`, 1_000_000_000 + ((p * 40_503) % 8_999_999_999) * 1_000);
    }
    const cp: Checkpoint = {
      maxTs: 1_717_236_000_000, lanes: { 'join-load-latency:enriched:7': [1_717_236_000_500, 9_876_543_210], [`join-load-latency:late:${TOPICS.inference}:7`]: [9_876_543_199] },
      watermarks: { [TOPICS.inference]: 1_717_235_998_000, [TOPICS.load]: 1_717_235_998_000 }, reads: { [TOPICS.inference]: 9_876_543_211, [TOPICS.load]: 9_876_543_300 },
      settings: '0123456789abcdef',
    };
    return { cp, floors };
  }

  it('fits 4096 bytes at 64 and 256 output partitions with 10-digit offsets, each floor lowered at most by 2^shift and never raised', () => {
    for (const n of [64, 256]) {
      const { cp, floors } = joinCheckpoint(n);
      expect(Buffer.byteLength(JSON.stringify({ ...cp, floors: Object.fromEntries(floors) }), 'utf8'), `${n} partitions as before`).toBeGreaterThan(4096);
      const text = checkpointMetadata(cp, floors, '{"toleranceMs":5000}');
      expect(Buffer.byteLength(text.metadata, 'utf8'), `${n} partitions`).toBeLessThanOrEqual(MAX_COMMIT_METADATA_BYTES);
      const back = parseCheckpoint(text.metadata);
      expect(back.lanes).toEqual(cp.lanes);
      expect([back.maxTs, back.watermarks, back.reads, back.settings]).toEqual([cp.maxTs, cp.watermarks, cp.reads, cp.settings]);
      expect(text.lanesDropped).toBe(false);
      const shift = text.floorShift!;
      const unpacked = checkpointFloors(back)!;
      expect(unpacked.size).toBe(2 * n);
      for (const [k, f] of floors) {
        expect(unpacked.get(k)!, k).toBeLessThanOrEqual(f);
        expect(unpacked.get(k)!, k).toBeGreaterThan(f - 2 ** shift);
      }
      // The least shift that fits: one bit less does not.
      if (shift > 0) expect(Buffer.byteLength(JSON.stringify({ ...cp, packedFloors: packFloors(floors, shift - 1) }), 'utf8')).toBeGreaterThan(MAX_COMMIT_METADATA_BYTES);
    }
    // Exact up to 64 partitions; at 256 each floor lowered by less than 4 records (2^2).
    expect([8, 64, 256].map((n) => checkpointMetadata(joinCheckpoint(n).cp, joinCheckpoint(n).floors, undefined).floorShift)).toEqual([0, 0, 2]);
  });

  it('keeps each topic\'s lowest floor at any partition count; leaves the floors out where the rest leaves no room (a restart scans the outputs from their start), then the lanes', () => {
    const { cp, floors } = joinCheckpoint(4000);
    const coarse = checkpointMetadata(cp, floors, undefined);
    expect(coarse.floorShift).toBeGreaterThan(0);
    expect(Buffer.byteLength(coarse.metadata, 'utf8')).toBeLessThanOrEqual(MAX_COMMIT_METADATA_BYTES);
    expect(checkpointFloors(parseCheckpoint(coarse.metadata))!.size).toBe(8000);
    // Lanes that leave less room than the coarsest floors take (~100 bytes): the floors go, the lanes stay.
    const lane = (bytes: number) => ({ ...cp, lanes: { 'rolling-correlation:windows:7': [1_717_236_000_000, 'x'.repeat(bytes), 0] } });
    const pad = MAX_COMMIT_METADATA_BYTES - 40 - Buffer.byteLength(JSON.stringify(lane(0)), 'utf8');
    const tight = checkpointMetadata(lane(pad), floors, undefined);
    expect([tight.floorShift, tight.lanesDropped]).toEqual([null, false]);
    expect(JSON.parse(tight.metadata)).toEqual(lane(pad));
    expect(checkpointFloors(parseCheckpoint(tight.metadata))).toBeNull();
    // Lanes too long to fit at all: left out with the floors, never the floors without the lanes.
    const cut = checkpointMetadata(lane(5000), joinCheckpoint(8).floors, undefined);
    expect([cut.floorShift, cut.lanesDropped]).toEqual([null, true]);
    const { lanes: _lanes, ...rest } = lane(5000);
    expect(JSON.parse(cut.metadata)).toEqual(rest);
    expect(Buffer.byteLength(cut.metadata, 'utf8')).toBeLessThanOrEqual(MAX_COMMIT_METADATA_BYTES);
  });
});

describe('checkpointFloors', () => {
  it('reads packed floors, an earlier version\'s plain ones, and none (null) from a checkpoint without or with unreadable ones', () => {
    const floors = new Map([[`${TOPICS.enriched}:0`, 12], [`${TOPICS.enriched}:1`, 40]]);
    expect(checkpointFloors({ maxTs: 1, packedFloors: packFloors(floors, 0) })).toEqual(floors);
    expect(checkpointFloors({ maxTs: 1, floors: { [`${TOPICS.enriched}:0`]: 12, [`${TOPICS.enriched}:1`]: 40 } })).toEqual(floors);
    expect(checkpointFloors({ maxTs: 1 })).toBeNull();
    expect(checkpointFloors({ maxTs: 1, floors: { [`${TOPICS.enriched}:0`]: 'x' as unknown as number } })).toBeNull();
    expect(checkpointFloors({ maxTs: 1, packedFloors: { [TOPICS.enriched]: 'garbled' } })).toBeNull();
  });
});
