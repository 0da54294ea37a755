/**
 * unsealedInputs: which topics a bounded `pipeline run --until-end` still waits on (a trial waited on unsealed topics
 * in silence; another ran `--processors join,sink --until-end`, which waited for ever on the correlation topic that no
 * processor of its run writes). The run says which, once, and what seals each.
 */
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../pipelines/topics.ts';
import { countsLine, unsealedInputs, waitingLine } from '../../../services/cli/pipeline.ts';
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
  });

  it('names a processor\'s input that no processor of the run writes and no earlier run sealed', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await log.seal(TOPICS.inference);
    await log.seal(TOPICS.load);
    // join seals the enriched and late-events topics at its end; the correlation topic waits on another run.
    expect(await unsealedInputs(log, ['join', 'sink'])).toEqual([TOPICS.correlation]);
    expect(await unsealedInputs(log, ['join', 'correlation', 'sink'])).toEqual([]);
    // A sink-only job waits on every output; with shadows on, on the shadow topics too.
    expect(await unsealedInputs(log, ['sink'])).toEqual([TOPICS.enriched, TOPICS.correlation, TOPICS.late]);
    expect(await unsealedInputs(log, ['sink'], true)).toEqual([TOPICS.enriched, TOPICS.correlation, TOPICS.late, TOPICS.shadow, TOPICS.shadowVerdicts]);
    expect(await unsealedInputs(log, ['alerts'])).toEqual([TOPICS.correlation]);
    // Sealed by an earlier run's end: nothing to wait on.
    await log.seal(TOPICS.correlation);
    expect(await unsealedInputs(log, ['join', 'sink'])).toEqual([]);
  });

  it('leaves out a topic whose seal cannot be read', async () => {
    const flaky = { isSealed: async (topic: string) => { if (topic === TOPICS.load) throw new Error('broker gone'); return false; } };
    expect(await unsealedInputs(flaky, ['join'])).toEqual([TOPICS.inference]);
  });
});

describe('waitingLine', () => {
  it('says what seals each topic: the simulator for the fleet\'s, the stages that write an output', () => {
    expect(waitingLine([TOPICS.load])).toBe(`edgelat: waiting: --until-end reads to the end of a topic not sealed yet: ${TOPICS.load} (sealed by \`edgelat simulate --seal\` or the fleet's producer); Ctrl-C stops\n`);
    expect(waitingLine([TOPICS.correlation, TOPICS.late])).toBe(
      `edgelat: waiting: --until-end reads to the end of topics not sealed yet: ${TOPICS.correlation} (no processor of this run writes it; a \`pipeline run --until-end\` with correlation seals it at its end); `
      + `${TOPICS.late} (no processor of this run writes it; a \`pipeline run --until-end\` with join or correlation seals it at its end); Ctrl-C stops\n`,
    );
    expect(waitingLine([TOPICS.late], true)).toContain('with join, correlation or shadow seals it');
  });
});

describe('countsLine', () => {
  it('sums each stage over its topics, and says second copies skipped only where there were some', () => {
    const c = (consumed: number, dead: number, late: number, repeated?: number) => ({ consumed, processed: consumed - dead - late - (repeated ?? 0), dead, late, ...(repeated !== undefined ? { repeated } : {}) });
    const counts = {
      join: { [TOPICS.inference]: c(100, 2, 3), [TOPICS.load]: c(50, 0, 1) },
      correlation: { [TOPICS.enriched]: c(95, 0, 0, 7) },
      sink: { [TOPICS.enriched]: c(95, 0, 0, 7), [TOPICS.correlation]: c(40, 1, 0, 0) },
    };
    expect(countsLine(['join', 'correlation', 'shadow', 'sink'], counts)).toBe(
      'join: 150 consumed, 2 dead, 4 late; correlation: 95 consumed, 0 dead, 0 late, 7 repeated (second copies skipped); sink: 135 consumed, 1 dead, 0 late, 7 repeated (second copies skipped)');
  });
});
