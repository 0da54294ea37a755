/**
 * drainWithin: a streamed answer's wait for its client ends on 'drain', on the stall timer, or when the client goes
 * away, also while the garbage collector runs (on Node 20 an AbortSignal.any over AbortSignal.timeout can be collected
 * before it fires: a trial's client that never read held a connection for 3 minutes).
 */
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { drainWithin, WRITE_SLICE_BYTES, writeWithin } from '../../../services/sql-endpoint/server.ts';

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

describe('writeWithin', () => {
  /** A writable whose client takes `kbPerMs` kB a millisecond: each write is done after its length at that pace. */
  const slowClient = (kbPerMs: number) => {
    const got: Buffer[] = [];
    const stream = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, done) {
        got.push(Buffer.from(chunk));
        setTimeout(done, chunk.length / 1024 / kbPerMs);
      },
    });
    return { stream, got };
  };

  it('gives a slow but steady client a 1 MiB block whole: the stall time counts per slice, not per block', async () => {
    // A trial: a reader at about 20 kB/s was cut off after 30 s, as the drain of a whole 1 MiB block took 50 s.
    // Here 1 kB/ms: the block takes about 1 s, five times the stall time; a 64 KiB slice about 64 ms.
    const { stream, got } = slowClient(1);
    const block = Buffer.alloc(1 << 20, 7);
    await writeWithin(stream, block, 200, new AbortController().signal);
    await new Promise<void>((resolve) => stream.end(resolve));
    expect(Buffer.concat(got).equals(block)).toBe(true);
    expect(got.length).toBe(Math.ceil(block.length / WRITE_SLICE_BYTES));
  }, 10_000);

  it('still cuts off a client that takes less than a slice within the stall time', async () => {
    const { stream } = slowClient(0.1); // a 64 KiB slice takes 640 ms
    await expect(writeWithin(stream, Buffer.alloc(1 << 20), 200, new AbortController().signal)).rejects.toThrow('the client took nothing for 200 ms');
    stream.destroy();
  }, 10_000);
});
