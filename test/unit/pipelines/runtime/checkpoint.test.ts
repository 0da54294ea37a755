import { describe, expect, it } from 'vitest';
import { checkpointMetadata, settingsDiff } from '../../../../pipelines/runtime/checkpoint.ts';

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
  it('carries the settings\' JSON while the whole stays within 3072 UTF-8 bytes, else leaves it out', () => {
    const settings = '{"sizeMs":300000}';
    expect(JSON.parse(checkpointMetadata({ maxTs: 1 }, settings))).toEqual({ maxTs: 1, settingsJson: settings });
    expect(checkpointMetadata({ maxTs: 1 }, undefined)).toBe('{"maxTs":1}');
    // Lanes of 2 bytes per character: 1,520 "é" take 3,040 bytes (1,520 characters): with the settings over the limit in bytes, not in characters.
    const big = { maxTs: 1, lanes: { a: 'é'.repeat(1520) } };
    expect(Buffer.byteLength(JSON.stringify({ ...big, settingsJson: settings }), 'utf8')).toBeGreaterThan(3072);
    expect(JSON.stringify({ ...big, settingsJson: settings }).length).toBeLessThan(3072);
    expect(JSON.parse(checkpointMetadata(big, settings))).toEqual(big);
  });
});
