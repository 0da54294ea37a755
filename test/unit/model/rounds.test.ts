/**
 * Work in rounds (services/model/rounds.ts): the same result run at once or with the event loop served between
 * rounds; mapRounds pauses every `perRound` elements and maps as Array.prototype.map does.
 */
import { describe, expect, it } from 'vitest';
import { mapRounds, runRounds, runRoundsYielding } from '../../../services/model/rounds.ts';

describe('rounds', () => {
  it('mapRounds maps as map does, pausing after every perRound elements', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    const g = mapRounds(xs, (x, i) => x * 10 + i, 4);
    let pauses = 0;
    let r = g.next();
    for (; !r.done; r = g.next()) pauses++;
    expect(pauses).toBe(2); // after elements 4 and 8
    expect(r.value).toEqual(xs.map((x, i) => x * 10 + i));
    expect(runRounds(mapRounds([], (x: number) => x))).toEqual([]);
  });

  it('runRoundsYielding gives the event loop a turn between rounds (slice 0 ms: at every pause), and passes a throw on', async () => {
    const seen: number[] = [];
    let round = 0;
    const tick = () => { seen.push(round); if (round < 3) setImmediate(tick); };
    setImmediate(tick);
    const value = await runRoundsYielding((function* () {
      for (round = 1; round <= 3; round++) yield;
      return 'done';
    })(), 0);
    expect([value, seen]).toEqual(['done', [1, 2, 3]]);
    await expect(runRoundsYielding((function* (): Generator<void, never, void> {
      yield;
      throw new RangeError('bad round');
    })(), 0)).rejects.toThrow('bad round');
  });
});
