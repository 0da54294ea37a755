/**
 * {@link profileOnnx} on a worker thread, for `edgelat serve`'s `POST /v1/profile`: decoding and counting a large graph
 * is synchronous work of seconds (a trial: a 21 MB file of 400,000 nodes held `/healthz` for 6.7 s, a 48 MB one of
 * nested If subgraphs for 23.6 s), which on the server's thread stalls every other route. One worker serves the
 * profiles one at a time, in order; it starts at the first profile and is started again after it dies (a model that
 * exhausts its heap ends the worker, not the server).
 *
 * The worker imports the profiler module beside this one: the compiled `.js` under dist/, else the `.ts` source
 * through tsx (as bin/edgelat.js runs it).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OnnxProfileError } from './onnx-values.ts';
import type { ProfileOptions } from './profile.ts';
import type { ModelProfile } from './types.ts';

/** Heap limit of the worker, MiB: a graph that needs more ends the worker (the request answers 500), not the server. */
const WORKER_HEAP_MB = 2048;

/**
 * Longest one profile may take, ms; then the worker is ended (and started again for the next) and the profile fails
 * with an {@link OnnxProfileError}. The slowest real file measured took 23.6 s (48 MB of nested If subgraphs).
 */
export const PROFILE_TIMEOUT_MS = 120_000;

/** The worker's code (CommonJS, evaluated): import the profiler, then answer `{ id, bytes, options }` messages. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  const { profileOnnx } = await import(workerData.module);
  parentPort.on('message', ({ id, bytes, options }) => {
    try {
      parentPort.postMessage({ id, profile: profileOnnx(bytes, options) });
    } catch (e) {
      parentPort.postMessage({ id, error: { name: e && e.name, message: String(e && e.message !== undefined ? e.message : e) } });
    }
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ fatal: String(e && e.stack ? e.stack : e) }));
`;

interface Pending { resolve: (p: ModelProfile) => void; reject: (e: Error) => void }

/** Profiles ONNX models on one worker thread ({@link ProfileWorker.profile}); `close` ends it. */
export class ProfileWorker {
  private worker: { thread: Worker; pending: Map<number, Pending>; drop: (error: Error) => void } | null = null;
  private nextId = 0;

  /** @param options  `timeoutMs`: longest one profile may take. @default {@link PROFILE_TIMEOUT_MS} */
  constructor(private readonly options: { timeoutMs?: number } = {}) {}

  /**
   * Profile one model off the caller's thread.
   * @param bytes    The ONNX file (copied to the worker).
   * @param options  As {@link profileOnnx}'s.
   * @returns        The profile, as {@link profileOnnx} gives it.
   * @throws {OnnxProfileError} as {@link profileOnnx} (the bytes are not a profilable model).
   * @throws {RangeError} as {@link profileOnnx} (a batch or dim below 1).
   * @throws {OnnxProfileError} when it takes longer than the timeout (the worker is ended; the next profile starts another).
   * @throws {Error} when the worker cannot start or dies (its heap limit, {@link WORKER_HEAP_MB} MiB, reached).
   */
  profile(bytes: Uint8Array, options: ProfileOptions = {}): Promise<ModelProfile> {
    const { thread, pending, drop } = this.start();
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? PROFILE_TIMEOUT_MS;
    return new Promise<ModelProfile>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!pending.delete(id)) return;
        reject(new OnnxProfileError(`profiling took longer than ${timeoutMs / 1000} s and was stopped (the slowest real model measured took 24 s: a graph this costly to read is broken or hostile)`));
        drop(new Error('the profile worker was restarted: a profile before this one took too long'));
      }, timeoutMs);
      timer.unref();
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      thread.ref();
      thread.postMessage({ id, bytes, options });
    });
  }

  /** End the worker (profiles under way are rejected). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    failAll(w.pending, new Error('the profile worker was closed'));
    await w.thread.terminate();
  }

  private start(): { thread: Worker; pending: Map<number, Pending>; drop: (error: Error) => void } {
    if (this.worker) return this.worker;
    const source = import.meta.url.endsWith('.ts');
    const module = new URL(`./profile.${source ? 'ts' : 'js'}`, import.meta.url).href;
    const tsx = source ? tsxApiUrl() : null;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, tsx }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.unref();
    const pending = new Map<number, Pending>();
    // A failed worker is forgotten (the next profile starts another) and ended.
    const drop = (error: Error): void => {
      failAll(pending, error);
      if (this.worker === entry) this.worker = null;
      void worker.terminate();
    };
    const entry = { thread: worker, pending, drop };
    worker.on('message', (m: { id?: number; profile?: ModelProfile; error?: { name?: string; message: string }; fatal?: string; ready?: true }) => {
      if (m.fatal !== undefined) {
        drop(new Error(`the profile worker could not start: ${m.fatal}`));
        return;
      }
      if (m.id === undefined) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) worker.unref();
      if (m.error === undefined) p.resolve(m.profile!);
      else p.reject(m.error.name === 'OnnxProfileError' ? new OnnxProfileError(m.error.message) : m.error.name === 'RangeError' ? new RangeError(m.error.message) : new Error(m.error.message));
    });
    worker.on('error', (error) => drop(new Error(`the profile worker failed: ${error.message}`)));
    worker.on('exit', (code) => drop(new Error(`the profile worker ended (exit code ${code})`)));
    this.worker = entry;
    return entry;
  }
}

/** URL of tsx's ESM register API (its `import` export of `tsx/esm/api`; require.resolve would give the CommonJS one). */
function tsxApiUrl(): string {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const exported = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import?: string | { default?: string } }> }).exports['./esm/api']?.import;
  const file = typeof exported === 'string' ? exported : exported?.default;
  if (!file) throw new Error(`tsx ${pkg}: no "import" export of ./esm/api`);
  return pathToFileURL(join(dirname(pkg), file)).href;
}

/** Reject every pending profile of a worker with `error`. */
function failAll(pending: Map<number, Pending>, error: Error): void {
  const all = [...pending.values()];
  pending.clear();
  for (const p of all) p.reject(error);
}

/**
 * {@link profileOnnx} of one file on a worker of its own, stopped after `timeoutMs`: what the CLI's `profile`,
 * `recommend --onnx` and `gate --onnx` run, so a file that takes too long fails with an {@link OnnxProfileError} instead
 * of holding the command without end (a CI gate given an untrusted model; a security re-test).
 * @param bytes    The ONNX file.
 * @param options  As {@link profileOnnx}'s.
 * @returns        The profile.
 * @throws as {@link ProfileWorker.profile}.
 */
export async function profileOnce(bytes: Uint8Array, options: ProfileOptions = {}, timeoutMs = PROFILE_TIMEOUT_MS): Promise<ModelProfile> {
  const worker = new ProfileWorker({ timeoutMs });
  try {
    return await worker.profile(bytes, options);
  } finally {
    await worker.close();
  }
}

