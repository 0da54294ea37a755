/**
 * drainWithin: a streamed answer's wait for its client ends on 'drain', on the stall timer, or when the client goes
 * away, also while the garbage collector runs (on Node 20 an AbortSignal.any over AbortSignal.timeout can be collected
 * before it fires: a trial's client that never read held a connection for 3 minutes).
 */
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { drainWithin } from '../../../services/sql-endpoint/server.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collect garbage every 20 ms while `work` runs. */
async function underGc<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    const junk = Array.from({ length: 50_000 }, (_, i) => ({ i }));
    junk.length = 0;
    gc();
  }, 20);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

describe('drainWithin', () => {
  it('ends on the stall timer while the garbage collector runs', async () => {
    const stream = new EventEmitter();
    await expect(underGc(drainWithin(stream, 300, new AbortController().signal))).rejects.toThrow('the client took nothing for 300 ms');
    expect(stream.listenerCount('drain')).toBe(0);
  }, 10_000);

  it('ends on drain, and when the client goes away (its reason), with no listener left', async () => {
    const stream = new EventEmitter();
    const drained = drainWithin(stream, 60_000, new AbortController().signal);
    stream.emit('drain');
    await expect(drained).resolves.toBeUndefined();
    const gone = new AbortController();
    const waiting = underGc(drainWithin(stream, 60_000, gone.signal));
    setTimeout(() => gone.abort(new Error('the client closed the connection')), 100);
    await expect(waiting).rejects.toThrow('the client closed the connection');
    const already = new AbortController();
    already.abort(new Error('gone before'));
    await expect(drainWithin(stream, 60_000, already.signal)).rejects.toThrow('gone before');
    expect(stream.listenerCount('drain')).toBe(0);
  }, 10_000);
});
