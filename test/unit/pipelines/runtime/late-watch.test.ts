/**
 * LateShareWatch: a server is named once per topic when at least 20 of its records, and at least half of them,
 * were late; never for a server with a few late records among many on time (the demo's 0.45 %).
 */
import { describe, expect, it } from 'vitest';
import { LATE_WARN_MIN, LATE_WINDOW_RECORDS, LateShareWatch } from '../../../../pipelines/runtime/late-watch.ts';

describe('LateShareWatch', () => {
  it('warns once, at the 20th late record, when late records are at least half of the server\'s', () => {
    const w = new LateShareWatch(2000, 'EDGELAT_MAX_OUT_OF_ORDERNESS_MS');
    const said: (string | null)[] = [];
    for (let i = 0; i < 25; i++) {
      said.push(w.note('edge.inference.v1', 1, 'edge-03', i % 4 !== 0, 900 + i)); // 3 late of every 4
    }
    const at = said.findIndex((t) => t !== null);
    // 18 late records among the first 25: nothing yet.
    expect(at).toBe(-1);
    for (let i = 25; i < 40 && !said.some((t) => t !== null); i++) said.push(w.note('edge.inference.v1', 1, 'edge-03', i % 4 !== 0, 900 + i));
    const first = said.findIndex((t) => t !== null);
    // Late records at i = 1,2,3,5,6,7,…: the 20th late one is i = 26 (20 = 3·6 + 2).
    expect(first).toBe(26);
    expect(said[first]).toBe('20 of the 27 edge.inference.v1 records of server "edge-03" so far are late (up to 0.9 s behind the watermark of partition 1, which the newest event time of its servers sets): its clock likely runs behind theirs by more than EDGELAT_MAX_OUT_OF_ORDERNESS_MS (2000 ms); sync its clock (NTP) or raise the bound. Its late records are in late_events');
    // Once per topic and server: later records say nothing; another topic of the server counts apart (1 late so far).
    for (let i = 0; i < 100; i++) expect(w.note('edge.inference.v1', 1, 'edge-03', true, 5000)).toBeNull();
    expect(w.note('edge.load.v1', 1, 'edge-03', true, 10)).toBeNull();
  });

  it('stays silent for a server whose late records are fewer than half of its records, however many', () => {
    const w = new LateShareWatch(2000, 'X');
    for (let i = 0; i < 10_000; i++) expect(w.note('edge.inference.v1', 0, 'edge-05', i % 3 === 0, 100)).toBeNull(); // a third late
    // And for one with fewer than 20 late records, even if all of its records are late.
    for (let i = 0; i < LATE_WARN_MIN - 1; i++) expect(w.note('edge.inference.v1', 0, 'edge-06', true, 100)).toBeNull();
    expect(w.note('edge.inference.v1', 0, 'edge-06', true, 100)).toMatch(/^20 of the 20 edge\.inference\.v1 records of server "edge-06"/);
  });

  it('counts a server\'s recent records: on time for a long while, then late, it is named within about the window (a long-run trial: 1.2 million late records after 14 days on time)', () => {
    const w = new LateShareWatch(2000, 'X');
    for (let i = 0; i < 200_000; i++) expect(w.note('edge.inference.v1', 0, 'edge-07', false)).toBeNull();
    let n = 0;
    let said: string | null = null;
    while (said === null && n < 200_000) said = w.note('edge.inference.v1', 0, 'edge-07', true, 3000), n++;
    // The tally holds at most 10,000 records: halved to 5,000 on time, the share reaches a half after ~5,000 late.
    expect(n).toBeGreaterThan(LATE_WINDOW_RECORDS / 4);
    expect(n).toBeLessThanOrEqual(LATE_WINDOW_RECORDS);
    expect(said).toMatch(/^about [\d,]+ of the last [\d,]+ edge\.inference\.v1 records of server "edge-07" are late \(up to 3\.0 s behind/);
    // Late on: not said again. Back on time for long enough, then behind once more, with a smaller lag: said again, with that lag.
    for (let i = 0; i < 30_000; i++) expect(w.note('edge.inference.v1', 0, 'edge-07', true, 3_600_000)).toBeNull();
    for (let i = 0; i < 50_000; i++) expect(w.note('edge.inference.v1', 0, 'edge-07', false)).toBeNull();
    let again: string | null = null;
    for (let i = 0; i < 20_000 && again === null; i++) again = w.note('edge.inference.v1', 0, 'edge-07', true, 45_000);
    expect(again).toMatch(/^about [\d,]+ of the last [\d,]+ edge\.inference\.v1 records of server "edge-07" are late \(up to 45\.0 s behind/);
  });
});
