import { describe, expect, it } from 'vitest';
import { settingsDiff } from '../../../../pipelines/runtime/run-processor.ts';

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
