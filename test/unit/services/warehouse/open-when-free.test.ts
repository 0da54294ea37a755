/**
 * openWhenFree: the wait for the embedded warehouse's folder while another process holds it; takes turns, gives up
 * after its seconds, and ends when its signal aborts (a trial: `pipeline run`'s Ctrl-C was held through the whole
 * EDGELAT_LOCK_WAIT_S, then it exited 75).
 */
import { describe, expect, it } from 'vitest';
import { RetryStoppedError, WarehouseLockedError } from '../../../../errors.ts';
import { openWhenFree } from '../../../../services/warehouse/chdb.ts';

const held = () => new WarehouseLockedError('/data/chdb', undefined, 42);

describe('openWhenFree', () => {
  it('opens once the folder is free, saying the wait once', async () => {
    let tries = 0;
    const waits: number[] = [];
    const value = await openWhenFree(() => {
      if (++tries < 3) throw held();
      return 'open';
    }, 5, (e) => waits.push(e.pid!));
    expect([value, tries, waits]).toEqual(['open', 3, [42]]);
  });

  it('throws the refusal at once with no wait, and with the seconds waited after it', async () => {
    await expect(openWhenFree(() => { throw held(); }, 0)).rejects.toThrow(/^another edgelat process \(pid 42\) holds the embedded warehouse at "\/data\/chdb"; try again once it ends, stop it/);
    await expect(openWhenFree(() => { throw held(); }, 1)).rejects.toMatchObject({ waitedS: 1 });
  });

  it('ends the wait when its signal aborts, with the refusal as the cause', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const t0 = Date.now();
    const error = await openWhenFree(() => { throw held(); }, 60, () => undefined, stop.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryStoppedError);
    expect((error as Error).message).toBe('stopped while waiting for the embedded warehouse at "/data/chdb", which pid 42 holds');
    expect((error as Error).cause).toBeInstanceOf(WarehouseLockedError);
    expect(Date.now() - t0).toBeLessThan(5_000); // not the 60 s
  });
});
