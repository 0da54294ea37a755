/**
 * unsealedInputs: which of the fleet's topics a bounded `pipeline run --until-end` still waits on (a trial waited on
 * unsealed topics in silence; the run now says which, once).
 */
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../pipelines/topics.ts';
import { unsealedInputs } from '../../../services/cli/pipeline.ts';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';

describe('unsealedInputs', () => {
  it('names the join\'s and the shadow stage\'s input topics that are not sealed', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    expect(await unsealedInputs(log, ['join', 'correlation', 'sink'])).toEqual([TOPICS.inference, TOPICS.load]);
    await log.seal(TOPICS.inference);
    expect(await unsealedInputs(log, ['join', 'shadow'])).toEqual([TOPICS.load, TOPICS.shadow]);
    await log.seal(TOPICS.load);
    await log.seal(TOPICS.shadow);
    expect(await unsealedInputs(log, ['join', 'shadow'])).toEqual([]);
    // A sink-only job reads what other jobs' processors seal: nothing of the fleet's to wait on.
    expect(await unsealedInputs(new MemoryEventLog(), ['sink'])).toEqual([]);
  });

  it('leaves out a topic whose seal cannot be read', async () => {
    const flaky = { isSealed: async (topic: string) => { if (topic === TOPICS.load) throw new Error('broker gone'); return false; } };
    expect(await unsealedInputs(flaky, ['join'])).toEqual([TOPICS.inference]);
  });
});
