/**
 * `POST /v1/profile`'s worker thread (services/profiler/profile-worker.ts): the same profile as profileOnnx, its
 * errors as their classes, and the caller's thread free meanwhile (a trial: a 48 MB graph held /healthz 23.6 s).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { profileOnce, ProfileWorker } from '../../../services/profiler/profile-worker.ts';
import { OnnxProfileError, profileOnnx } from '../../../services/profiler/profile.ts';

const TINY = readFileSync(fileURLToPath(new URL('../../fixtures/onnx/tiny-cnn.onnx', import.meta.url)));

describe('ProfileWorker', () => {
  const worker = new ProfileWorker();
  afterAll(() => worker.close());

  it('gives profileOnnx\'s profile while the caller\'s event loop keeps turning', async () => {
    // Turns of the event loop while the profile is under way: profiled on this thread, none would run before it resolves.
    let turns = 0;
    let running = true;
    const turn = (): void => {
      turns++;
      if (running) setImmediate(turn);
    };
    setImmediate(turn);
    const profile = await worker.profile(TINY, { batch: 3, modelId: 'tiny' });
    running = false;
    expect(profile).toEqual(profileOnnx(TINY, { batch: 3, modelId: 'tiny' }));
    expect(turns).toBeGreaterThan(0);
  });

  it('stops a profile that takes longer than its timeout (a trial: a small hostile file held the worker for hours), and the next one gets a new worker', async () => {
    const slow = new ProfileWorker({ timeoutMs: 5 }); // less than the worker takes to start
    try {
      const error = await slow.profile(TINY).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(OnnxProfileError);
      expect((error as Error).message).toMatch(/^profiling took longer than 0.005 s and was stopped/);
      (slow as unknown as { options: { timeoutMs: number } }).options.timeoutMs = 60_000;
      expect(await slow.profile(TINY, { modelId: 'tiny' })).toEqual(profileOnnx(TINY, { modelId: 'tiny' }));
    } finally {
      await slow.close();
    }
  });

  it('profileOnce (the CLI\'s profile, recommend --onnx and gate --onnx): profileOnnx\'s answer on a worker of its own, and a profile past its time limit stopped (a re-test: the CLI had no limit)', async () => {
    expect(await profileOnce(TINY, { batch: 2 })).toEqual(profileOnnx(TINY, { batch: 2 }));
    const error = await profileOnce(TINY, {}, 5).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(OnnxProfileError);
    expect((error as Error).message).toMatch(/^profiling took longer than 0.005 s and was stopped/);
  });

  it('rejects with profileOnnx\'s error classes and messages, and serves the next profile', async () => {
    const truncated = TINY.subarray(0, 1000);
    let expected: unknown;
    try {
      profileOnnx(truncated);
    } catch (error) {
      expected = error;
    }
    expect(expected).toBeInstanceOf(OnnxProfileError);
    await expect(worker.profile(truncated)).rejects.toThrow(expected as Error);
    await expect(worker.profile(truncated)).rejects.toBeInstanceOf(OnnxProfileError);
    await expect(worker.profile(TINY, { batch: 0 })).rejects.toThrow(new RangeError('batch: expected an integer >= 1, got 0'));
    expect((await worker.profile(TINY)).macs).toBe(profileOnnx(TINY).macs);
  });

  it('rejects what is under way when closed, and starts again on the next profile', async () => {
    const w = new ProfileWorker();
    const pending = expect(w.profile(TINY)).rejects.toThrow('the profile worker was closed');
    await w.close();
    await pending;
    expect((await w.profile(TINY)).macs).toBe(profileOnnx(TINY).macs);
    await w.close();
  });
});
