import type { InferenceEvent } from '../../schemas/types.ts';

/** The bad inputs injected (cycled), as `edgelat demo` and `edgelat simulate` inject them: garbage bytes, a wrong type, a missing field. */
export function badRecordValue(i: number, sample: InferenceEvent): Buffer {
  switch (i % 3) {
    case 0:
      return Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
    case 1:
      return Buffer.from(JSON.stringify({ ...sample, event_id: `bad-type-${i}`, total_ms: 'fast' }));
    default: {
      const { edge_server_id: _dropped, ...rest } = sample;
      return Buffer.from(JSON.stringify({ ...rest, event_id: `bad-missing-${i}` }));
    }
  }
}
